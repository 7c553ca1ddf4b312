"""FastAPI dependencies shared by services: a session per request committed before the response; a route
class that validates a model body straight from its bytes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from typing import Annotated, Any, ClassVar

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import unit_of_work
from shared.http_guard import DECODED_BODY
from shared.messaging.outbox import Outbox


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with unit_of_work(request.app.state.runtime.sessions) as session:
        yield session


def get_outbox(request: Request) -> Outbox:
    outbox: Outbox = request.app.state.runtime.outbox
    return outbox


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]


class _OneModelJsonRequest(Request):
    """A request whose JSON body is parsed and validated by `body_model` in one pass over the bytes."""

    body_model: type[BaseModel]
    fast_decode: Callable[[bytes], BaseModel | None] | None = None

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            fast = self.scope.get(DECODED_BODY)  # decoded by the request guard (RequestGuard) with `fast_decode`
            if fast is not None:
                self._json: Any = fast
                return fast
            body = await self.body()
            fast = None if self.fast_decode is None else self.fast_decode(body)
            if fast is not None:
                self._json = fast
                return fast
            try:
                self._json = self.body_model.model_validate_json(body)
            except ValidationError:
                self._json = json.loads(body)
        return self._json


class ModelBodyRoute(APIRoute):
    """A route whose body is one pydantic model gets it validated straight from the request's bytes
    (`model_validate_json`), not parsed into dicts and lists first and validated from those: for a 1,000-encounter
    batch that pass cost more than the validation.

    FastAPI receives the validated model, which validating again returns as it is. A body the model refuses is
    parsed as before and handed to FastAPI as the dicts, so every error answer (locations, messages) is the one
    FastAPI always gave.

    A subclass may name `fast_decoders`: for a body model, a function that builds the model from the bytes by a faster
    route when it is sure of the answer, None when the model must judge (it then validates as above). The route names
    it as its `body_decoder`: the request guard (`shared.http_guard`) decodes the body with it instead of checking the
    JSON, and hands the result over, so the body is parsed once."""

    fast_decoders: ClassVar[Mapping[type[BaseModel], Callable[[bytes], BaseModel | None]]] = {}
    body_decoder: Callable[[bytes], BaseModel | None] | None = None

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        model = _one_model_body(self)
        if model is None:
            return handler
        fast = self.fast_decoders.get(model)
        self.body_decoder = fast
        attributes = {"body_model": model, "fast_decode": None if fast is None else staticmethod(fast)}
        request_class = type(f"{model.__name__}Request", (_OneModelJsonRequest,), attributes)

        async def validated_from_bytes(request: Request) -> Response:
            return await handler(request_class(request.scope, request.receive))

        return validated_from_bytes


def _one_model_body(route: APIRoute) -> type[BaseModel] | None:
    """The model of a route whose whole body is one pydantic model (not embedded, not a form)."""
    field = route.body_field
    if field is None or len(route.dependant.body_params) != 1 or route.dependant.body_params[0] is not field:
        return None
    annotation = field.field_info.annotation
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
