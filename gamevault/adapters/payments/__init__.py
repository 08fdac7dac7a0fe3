"""SP's payment gateways: one interface, three adapters (PayPal, Yape, Plin)."""

from gamevault.adapters.payments.base import Gateways, Notification, PaymentGateway, build_gateways

__all__ = ["Gateways", "Notification", "PaymentGateway", "build_gateways"]
