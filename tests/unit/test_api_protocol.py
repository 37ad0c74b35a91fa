"""GraphQL over HTTP: choosing the response media type."""

from __future__ import annotations

import pytest

from analytics_graph.api.http.protocol import (
    GRAPHQL_RESPONSE,
    JSON,
    RequestError,
    response_media_type,
)


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, JSON),
        ("", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{JSON};q=0.9, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{JSON}, {GRAPHQL_RESPONSE};q=0.8", JSON),
        ("*/*", JSON),
        ("application/*", JSON),
        (f"text/html, {GRAPHQL_RESPONSE};q=0", None),
    ],
)
def test_media_type_negotiation(accept: str | None, media: str | None) -> None:
    if media is None:
        with pytest.raises(RequestError) as raised:
            response_media_type(accept)
        assert raised.value.status == 406
    else:
        assert response_media_type(accept) == media
