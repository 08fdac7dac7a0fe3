"""SP's payment gateways: one interface, three adapters (PayPal, Yape, Plin); adapters/factory.py builds them."""

from gamevault.adapters.payments.base import Gateways, Notification, PaymentGateway

__all__ = ["Gateways", "Notification", "PaymentGateway"]
