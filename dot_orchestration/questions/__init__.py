"""Questions Dot answers on a schedule or after the data they read changed, as assets.

`build_dot_question_definitions([DotQuestion(...), ...])` gives one asset per question,
its schedule and its checks. The ask-and-wait is Dagster-free (`ask`); this package is
the Dagster layer:

* `settings`: `DotQuestion` and its expectations, one class for Python and YAML;
* `ask`: asking Dot with a client-made chat id and waiting within a budget;
* `asset`: the asset, its metadata and its errors;
* `checks`: the answer checks of its expectations, run in the question's step;
* `named_checks`: those on other assets (the dbt model the answer comes from), after it;
* `definitions`: `build_dot_question_definitions`, the one way to wire it.
"""

from dot_orchestration.questions.ask import DotReply, ask_dot
from dot_orchestration.questions.asset import (
    DotQuestionError,
    DotQuestionServerError,
    DotQuestionTimeoutError,
)
from dot_orchestration.questions.definitions import build_dot_question_definitions
from dot_orchestration.questions.settings import (
    AnswerCheckQueryError,
    DotQuestion,
    DuckDBQuery,
    Expectation,
    NumberExpectation,
    PhraseExpectation,
    TablesExpectation,
)

__all__ = [
    "AnswerCheckQueryError",
    "DotQuestion",
    "DotQuestionError",
    "DotQuestionServerError",
    "DotQuestionTimeoutError",
    "DotReply",
    "DuckDBQuery",
    "Expectation",
    "NumberExpectation",
    "PhraseExpectation",
    "TablesExpectation",
    "ask_dot",
    "build_dot_question_definitions",
]
