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

# Auto-review: Dot labels each conversation Issue, Abandoned, Success or OK, with a one-line
# reason (docs: Maintaining Dot). The weights are a guess at a healthy org's mix.
REVIEW_LABELS = ("Issue", "Abandoned", "OK", "Success")
REVIEW_WEIGHTS = (15, 10, 40, 35)
REVIEW_REASONS = {
    "Issue": (
        "The query failed and the answer described a result it never delivered.",
        "The user repeated the question: the first answer ignored the time filter.",
    ),
    "Abandoned": (
        "Dot asked which revenue definition was meant; nobody replied.",
        "Dot asked for the time range; the conversation ended there.",
    ),
    "OK": (
        "Completed without complaint.",
        "Answered with a table; no follow-up.",
    ),
    "Success": (
        "The user confirmed it was what they needed.",
        "The user thanked Dot and reused the chart.",
    ),
}
# The default profile's guessed numeric form of a verdict (Dot documents only the labels).
REVIEW_SCORES = {"Issue": 1, "Abandoned": 2, "OK": 4, "Success": 5}
