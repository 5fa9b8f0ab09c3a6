"""Classifying a request into a task class and picking its route from the active policy.

:class:`Router` is built once per policy (and again when a drift flag demotes an endpoint);
per request it does a few dict lookups and, for a class with a canary, one hash. It returns a
:class:`Decision`: the class, how the class was found, the canary arm, and the model names in
the order they are to be tried. Skipping an endpoint whose breaker is open or that is over
its rate or budget is the gateway's part (it holds that state), as is failing over.

Classification, first that applies:

1. ``model: benchroute/<class>`` names the class;
2. the ``x-benchroute-task`` header names it;
3. the policy's rules, in order (every condition of a rule must hold): ``regex`` and
   ``keywords`` on the last user message, ``min_prompt_chars`` / ``max_prompt_chars`` over
   every message's text, ``tools``, ``json_mode`` (``response_format`` json_object or
   json_schema), ``images`` (an ``image_url`` content part);
4. the policy's default class.

A demoted endpoint (a drift flag landed after the policy was built) moves to the end of its
class's route: traffic goes to the next candidate, and the endpoint stays a last resort.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..config import ROUTED_MODEL, ClassRule, PolicyDocument
from ._canary import in_canary

TASK_HEADER: Final = "x-benchroute-task"
USER_HEADER: Final = "x-benchroute-user"
SESSION_HEADER: Final = "x-benchroute-session"
_PREFIX: Final = ROUTED_MODEL + "/"


def is_routed(model: str) -> bool:
    """Whether a request's ``model`` asks the router (``benchroute``, ``benchroute/...``)."""
    return model == ROUTED_MODEL or model.startswith(_PREFIX)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the router chose for one request."""

    task_class: str
    classified_by: str  # model | header | rule N | default
    arm: str | None  # primary | canary (None: the class has no canary)
    route: tuple[str, ...]  # model names, in the order to try
    policy_version: int | None
    shadow: str | None  # a model to send a copy to (shadow canary), its reply discarded
    receipt: dict[str, Any]  # the receipt's routing block (shared by like requests: read-only)

    def to_json(self) -> dict[str, Any]:
        """The receipt's ``routing`` block. ``receipt`` already is that block (the router
        builds one per class, arm and way of classifying, once): returned as it is, so treat
        it as read-only — copy it to change a field."""
        return self.receipt


class RoutingError(Exception):
    """A request names a class the policy does not have."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Rule:
    __slots__ = (
        "images",
        "json_mode",
        "keywords",
        "max_chars",
        "min_chars",
        "name",
        "number",
        "regex",
        "tools",
        "words",
    )

    def __init__(self, rule: ClassRule, number: int) -> None:
        self.name = rule.class_
        self.number = number
        self.regex = re.compile(rule.regex) if rule.regex else None
        self.keywords = (
            re.compile(r"\b(?:" + "|".join(re.escape(k) for k in rule.keywords) + r")\b", re.IGNORECASE)
            if rule.keywords
            else None
        )
        # A substring test first: most messages hold none of the words, and finding that
        # out is ~30 times cheaper than the word-boundary regex (which then confirms a hit).
        self.words = tuple(k.lower() for k in rule.keywords or ())
        self.min_chars = rule.min_prompt_chars
        self.max_chars = rule.max_prompt_chars
        self.tools = rule.tools
        self.json_mode = rule.json_mode
        self.images = rule.images

    def matches(self, features: _Features) -> bool:
        if self.regex is not None and not self.regex.search(features.last_user):
            return False
        if self.keywords is not None:
            lower = features.lower()
            if not any(word in lower for word in self.words) or not self.keywords.search(features.last_user):
                return False
        if self.min_chars is not None and features.chars < self.min_chars:
            return False
        if self.max_chars is not None and features.chars > self.max_chars:
            return False
        if self.tools is not None and features.tools != self.tools:
            return False
        if self.json_mode is not None and features.json_mode != self.json_mode:
            return False
        return self.images is None or features.images == self.images


class _Features:
    """What the rules look at, read from the request body once."""

    __slots__ = ("_lower", "chars", "images", "json_mode", "last_user", "tools")

    def __init__(self, payload: Mapping[str, Any]) -> None:
        self._lower: str | None = None
        self.last_user: str = ""
        self.chars = 0
        self.images = False
        messages = payload.get("messages")
        if isinstance(messages, list):
            for message in messages:
                if not isinstance(message, dict):
                    continue
                text, image = _text(message.get("content"))
                self.chars += len(text)
                self.images = self.images or image
                if message.get("role") == "user":
                    self.last_user = text
        tools = payload.get("tools") or payload.get("functions")
        self.tools = bool(tools)
        response_format = payload.get("response_format")
        self.json_mode = isinstance(response_format, dict) and response_format.get("type") in (
            "json_object",
            "json_schema",
        )

    def lower(self) -> str:
        """The last user message in lower case (computed once)."""
        if self._lower is None:
            self._lower = self.last_user.lower()
        return self._lower


def _text(content: Any) -> tuple[str, bool]:
    if isinstance(content, str):
        return content, False
    if not isinstance(content, list):
        return "", False
    parts = []
    image = False
    for part in content:
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            parts.append(part["text"])
        elif kind in ("image_url", "input_image", "image"):
            image = True
    return "\n".join(parts), image


class _ClassRoute:
    __slots__ = ("canary", "canary_route", "percent", "primary_route", "receipt", "salt", "shadow", "sticky")

    def __init__(
        self, route: tuple[str, ...], receipt: Mapping[str, Any], canary: Any, demoted: Mapping[str, str]
    ) -> None:
        healthy = tuple(name for name in route if name not in demoted)
        self.primary_route = healthy + tuple(name for name in route if name in demoted)
        self.receipt = receipt
        if canary is not None and canary.model in demoted:
            canary = None  # a drifted candidate gets no traffic (the receipt lists it)
        self.canary = canary
        if canary is not None:
            rest = tuple(name for name in self.primary_route if name != canary.model)
            self.canary_route = (canary.model, *rest)
            self.percent = canary.percent
            self.salt = canary.salt
            self.sticky = canary.sticky
            self.shadow = canary.shadow
        else:
            self.canary_route = self.primary_route
            self.percent = 0.0
            self.salt = ""
            self.sticky = "request"
            self.shadow = False


class Router:
    """The routes of one policy version (see the module doc). ``demoted``: (class, model)
    -> why, for endpoints a drift flag moved to the end of a class's route."""

    def __init__(
        self,
        policy: PolicyDocument,
        version: int | None = None,
        demoted: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        self.policy = policy
        self.version = version if version is not None else policy.version
        self.demoted = dict(demoted or {})
        self.default_class = policy.fallback_class()
        self._rules = [_Rule(rule, index) for index, rule in enumerate(policy.rules)]
        self._classes: dict[str, _ClassRoute] = {}
        # The receipt block per (class, classified by, arm): built on first use, then shared.
        self._blocks: dict[tuple[str, str, str | None], dict[str, Any]] = {}
        for name, klass in policy.classes.items():
            route = tuple(entry.model for entry in klass.route)
            demoted_here = {m: why for (c, m), why in self.demoted.items() if c == name}
            chosen = klass.route[0]
            receipt = {
                "metric": klass.metric,
                "objective": klass.objective,
                "constraints": klass.constraints.model_dump(exclude_none=True),
                # Per endpoint of the route, the score and runs that put it there (the
                # policy document has the rest); kept small: every receipt carries it.
                "evidence": {
                    entry.model: {"score": entry.score, "runs": [run.run_id for run in entry.runs]}
                    for entry in klass.route
                },
                "chosen_by": {
                    "model": chosen.model,
                    "runs": [run.run_id for run in chosen.runs],
                    "score": chosen.score,
                    "why": chosen.why,
                },
                "demoted": [{"model": m, "reason": why} for m, why in demoted_here.items()],
            }
            self._classes[name] = _ClassRoute(route, receipt, klass.canary, demoted_here)

    @property
    def classes(self) -> list[str]:
        return list(self._classes)

    def models(self) -> set[str]:
        """Every model the policy can send to (routes and canaries)."""
        names = {entry.model for klass in self.policy.classes.values() for entry in klass.route}
        names.update(k.canary.model for k in self.policy.classes.values() if k.canary is not None)
        return names

    def classify(self, model: str, payload: Mapping[str, Any], headers: Mapping[str, str]) -> tuple[str, str]:
        """(class, how) for a routed request (see the module doc)."""
        if model.startswith(_PREFIX):
            name = model[len(_PREFIX) :]
            if name and name != "auto":
                if name not in self._classes:
                    raise RoutingError(
                        f"model {model!r}: no task class {name!r} in policy "
                        f"v{self.version}; classes: {', '.join(self._classes)}"
                    )
                return name, "model"
        header = headers.get(TASK_HEADER)
        if header:
            if header not in self._classes:
                raise RoutingError(
                    f"{TASK_HEADER}: no task class {header!r} in policy v{self.version}; "
                    f"classes: {', '.join(self._classes)}"
                )
            return header, "header"
        if self._rules:
            features = _Features(payload)
            for rule in self._rules:
                if rule.matches(features):
                    return rule.name, f"rule {rule.number}"
        return self.default_class, "default"

    def decide(
        self,
        model: str,
        payload: Mapping[str, Any],
        headers: Mapping[str, str],
        *,
        request_id: str,
        key_id: str | None = None,
    ) -> Decision:
        """Classify, then choose the arm and the route."""
        name, how = self.classify(model, payload, headers)
        route = self._classes[name]
        arm: str | None = None
        order = route.primary_route
        shadow: str | None = None
        if route.canary is not None:
            if route.shadow:
                arm = "primary"
                shadow = route.canary.model
            else:
                key = _sticky_key(route.sticky, payload, headers, key_id) or request_id
                if in_canary(key, route.salt, route.percent):
                    arm = "canary"
                    order = route.canary_route
                else:
                    arm = "primary"
        slot = (name, how, arm)
        block = self._blocks.get(slot)
        if block is None:
            block = {
                "class": name,
                "classified_by": how,
                "policy_version": self.version,
                "arm": arm,
                "route": list(order),
                "shadow": shadow,
                **route.receipt,
            }
            self._blocks[slot] = block
        return Decision(name, how, arm, order, self.version, shadow, block)


def _sticky_key(
    kind: str, payload: Mapping[str, Any], headers: Mapping[str, str], key_id: str | None
) -> str | None:
    if kind == "user":
        user = payload.get("user")
        if isinstance(user, str) and user:
            return "user:" + user
        value = headers.get(USER_HEADER)
        return "user:" + value if value else None
    if kind == "session":
        value = headers.get(SESSION_HEADER)
        return "session:" + value if value else None
    if kind == "key":
        return "key:" + key_id if key_id else None
    return None
