"""Canned reports: SQL over the views, printed as a table, CSV or JSON, or drawn as a PNG chart."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPORTS_SQL = {
    "gmv_daily": """
        SELECT CAST(paid_at AS DATE) AS day, currency, count(*) AS orders, sum(total_amount) AS gmv
        FROM orders WHERE paid_at IS NOT NULL GROUP BY ALL ORDER BY day, currency""",
    "orders_funnel": """
        WITH stages AS (
            SELECT 1 AS step, 'cart' AS stage, (SELECT count(DISTINCT buyer_id) FROM carts
                                                WHERE event_type = 'gamevault.orders.cart.item_set') AS buyers
            UNION ALL SELECT 2, 'placed', count(DISTINCT buyer_id) FROM orders
            UNION ALL SELECT 3, 'paid', count(DISTINCT buyer_id) FILTER (WHERE paid_at IS NOT NULL) FROM orders
            UNION ALL SELECT 4, 'shipped', count(DISTINCT buyer_id) FILTER (WHERE shipped_at IS NOT NULL) FROM orders
            UNION ALL SELECT 5, 'completed', count(DISTINCT buyer_id) FILTER (WHERE completed_at IS NOT NULL)
                      FROM orders)
        SELECT stage, buyers,
               round(100.0 * buyers / nullif(lag(buyers) OVER (ORDER BY step), 0), 1) AS pct_of_previous,
               round(100.0 * buyers / nullif(first_value(buyers) OVER (ORDER BY step), 0), 1) AS pct_of_first
        FROM stages ORDER BY step""",
    "payment_failure_rate": """
        SELECT provider, count(*) AS attempts,
               count(*) FILTER (WHERE outcome IN ('failed', 'voided')) AS failed,
               round(100.0 * count(*) FILTER (WHERE outcome IN ('failed', 'voided')) / count(*), 2) AS failure_pct
        FROM payments GROUP BY provider ORDER BY provider""",
    "top_products": """
        SELECT i.product_id, any_value(i.title) AS title, sum(i.quantity) AS units, sum(i.line_total) AS revenue,
               any_value(i.currency) AS currency
        FROM order_items i JOIN orders o USING (order_id) WHERE o.status = 'completed'
        GROUP BY i.product_id ORDER BY units DESC, revenue DESC, i.product_id LIMIT 10""",
    "rating_distribution": """
        SELECT rating AS stars, count(*) AS reviews, round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS share_pct
        FROM reviews WHERE status = 'approved' AND rating IS NOT NULL GROUP BY rating ORDER BY rating""",
    "order_latency": """
        SELECT step, count(*) AS orders, round(quantile_cont(seconds, 0.5), 3) AS p50_s,
               round(quantile_cont(seconds, 0.95), 3) AS p95_s
        FROM (SELECT placed_to_paid_s AS "placed -> paid", paid_to_shipped_s AS "paid -> shipped",
                     shipped_to_completed_s AS "shipped -> completed", placed_to_completed_s AS "placed -> completed"
              FROM orders)
        UNPIVOT (seconds FOR step IN ("placed -> paid", "paid -> shipped", "shipped -> completed",
                                      "placed -> completed"))  -- one scan of `orders`; NULLs dropped
        GROUP BY step
        ORDER BY list_position(['placed -> paid', 'paid -> shipped', 'shipped -> completed', 'placed -> completed'],
                               step)""",
}
DESCRIPTIONS = {
    "gmv_daily": "gross merchandise value of paid orders per day",
    "orders_funnel": "buyers at each stage: cart -> placed -> paid -> shipped -> completed",
    "payment_failure_rate": "payment attempts and failures (declined, never confirmed) by provider",
    "top_products": "best sellers in completed orders (units, revenue)",
    "rating_distribution": "approved reviews by stars",
    "order_latency": "time between saga milestones, p50 and p95",
}
CHARTS = {  # report -> (kind, x column, y column)
    "gmv_daily": ("line", "day", "gmv"), "orders_funnel": ("bar", "stage", "buyers"),
    "payment_failure_rate": ("bar", "provider", "failure_pct"), "top_products": ("barh", "title", "units"),
    "rating_distribution": ("bar", "stars", "reviews"), "order_latency": ("bar", "step", "p50_s"),
}


@dataclass
class Chart:
    path: Path


def draw(name: str, columns: list[str], rows: list[tuple], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kind, x, y = CHARTS[name]
    xs = [str(r[columns.index(x)]) for r in rows]
    ys = [float(r[columns.index(y)] or 0) for r in rows]
    fig, ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    {"line": ax.plot, "bar": ax.bar, "barh": ax.barh}[kind](xs, ys)
    ax.set_title(f"GameVault - {name.replace('_', ' ')}")
    ax.set_xlabel(x if kind != "barh" else y)
    ax.set_ylabel(y if kind != "barh" else x)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate() if kind == "line" else None
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
