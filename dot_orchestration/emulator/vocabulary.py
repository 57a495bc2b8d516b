"""Word pools for generated people, questions and answers, shared by history and live chats.

Kept in one place so a generated conversation from last March and an answer to a question
asked a second ago talk about the same business (an online shop with a dbt project whose
models are `customers`, `orders` and `daily_revenue`).
"""

FIRST_NAMES = (
    "Maria", "James", "Aisha", "Chen", "Lukas", "Sofia", "Mateo", "Priya", "Noah", "Emma",
    "Olu", "Hana", "Ivan", "Lea", "Omar", "Yuki", "Grace", "Tariq", "Nina", "Diego",
    "Freya", "Kwame", "Elif", "Ravi", "Clara", "Jonas", "Amara", "Felix", "Ines", "Sven",
)  # fmt: skip
LAST_NAMES = (
    "Garcia", "Smith", "Khan", "Wang", "Muller", "Rossi", "Silva", "Patel", "Johnson", "Brown",
    "Adeyemi", "Sato", "Petrov", "Dubois", "Haddad", "Tanaka", "Okafor", "Nowak", "Larsen",
    "Costa", "Novak", "Mensah", "Yilmaz", "Iyer", "Fischer", "Berg", "Diallo", "Weber",
    "Moreau", "Lindqvist",
)  # fmt: skip

# (metric, dbt model it comes from, unit) - the unit decides how values are written.
METRICS = (
    ("revenue", "daily_revenue", "currency"),
    ("order count", "orders", "count"),
    ("average order value", "orders", "currency"),
    ("active customers", "customers", "count"),
    ("churn rate", "customers", "percent"),
    ("new customers", "customers", "count"),
    ("refund rate", "orders", "percent"),
    ("gross margin", "daily_revenue", "percent"),
)
DIMENSIONS = ("region", "product category", "sales channel", "customer segment", "country")
DIMENSION_VALUES = ("EMEA", "North America", "APAC", "Online", "Retail", "Enterprise", "Germany")
PERIODS = (
    "last month", "last week", "this quarter", "year to date", "over the last 30 days",
    "yesterday", "last quarter",
)  # fmt: skip

QUESTIONS = (
    "What was {metric} by {dimension} {period}?",
    "Show me {metric} {period}",
    "How did {metric} change {period} compared to the period before?",
    "Which {dimension} had the highest {metric} {period}?",
    "Break down {metric} by {dimension} {period}",
    "Why did {metric} drop {period}?",
    "Can you plot {metric} per week {period}?",
)
FOLLOW_UPS = (
    "Can you split that by {dimension}?",
    "And {period}?",
    "Only for Enterprise customers please",
    "Show it as a chart",
    "What about {metric}?",
    "Export that as a CSV",
    "How does that compare to the previous month?",
)
ANSWERS = (
    "{Metric} {period} was {value}, {change} compared to the period before.",
    "{dimension_value} leads on {metric} {period} with {value}; the others follow at a distance.",
    "{Metric} {period} came to {value}. The main driver was {dimension_value} ({change}).",
    "Here is {metric} by {dimension} {period}. The total is {value}, {change} on the prior period.",
)

LABELS = ("revenue", "churn", "marketing", "needs-review", "data-quality", "exec", "finance")
CHANNELS = ("web", "slack", "teams", "api")
CHANNEL_WEIGHTS = (60, 25, 10, 5)

# Auto-review: Dot grades each conversation from 1 (wrong) to 5 (excellent), with a reason.
REVIEW_WEIGHTS = (5, 10, 20, 35, 30)
REVIEW_REASONS = {
    1: (
        "The answer used the wrong table; the numbers do not match the question.",
        "The SQL failed and the answer made up a result.",
    ),
    2: (
        "The query ignores the requested time filter.",
        "Revenue was summed before refunds although the question asked for net revenue.",
    ),
    3: (
        "Correct numbers, but the requested breakdown is missing.",
        "Plausible answer; the definition of an active customer was not stated.",
    ),
    4: (
        "Accurate answer; the chart could be clearer.",
        "Correct and well sourced; a follow-up question was needed for the breakdown.",
    ),
    5: (
        "Correct, complete and well explained.",
        "Exactly what was asked, with the right filters and a clear chart.",
    ),
}
