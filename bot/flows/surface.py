"""What a view builder hands to a flow: a Block Kit view, as a dict or a `slack_sdk` View.

`WebClient.views_*` and bolt's `ack(view=...)` take either, so flows pass views through as
built and never edit them.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Option
from slack_sdk.models.views import View

BuiltView = View | dict[str, Any]
BuiltOption = Option | dict[str, Any]
