"""hub.remote_files, the kernel fetcher both SMS media and Slack files use, against real local HTTP servers."""

from __future__ import annotations

import httpx
import pytest

from hub import remote_files
from tests.channels.sms.support import ProviderDouble


@pytest.fixture
async def api_and_cdn():
    api, cdn = ProviderDouble(), ProviderDouble()
    await api.start()
    await cdn.start()
    yield api, cdn
    await api.stop()
    await cdn.stop()


@pytest.mark.parametrize(
    ("auth", "header"),
    [(remote_files.bearer("xoxb-1"), "Bearer xoxb-1"), (remote_files.basic("AC1", "tok"), "Basic QUMxOnRvaw==")],
)
async def test_credentials_reach_the_provider_but_not_the_cdn_it_redirects_to(api_and_cdn, auth, header):
    api, cdn = api_and_cdn
    api.script_for["/media/M1"] = [(302, b"", {"Location": f"{cdn.url}/cdn/M1"})]
    cdn.files["/cdn/M1"] = b"\x89PNG-media"
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as http:
        data = await remote_files.download(http, f"{api.url}/media/M1", auth, limit=1000)
    assert data == b"\x89PNG-media"
    [asked] = api.requests
    [served] = cdn.requests
    assert asked["headers"]["authorization"] == header
    assert "authorization" not in served["headers"]


async def test_a_file_over_the_limit_is_refused(api_and_cdn):
    api, _ = api_and_cdn
    api.files["/big"] = b"x" * 5000
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(remote_files.TooLarge):
            await remote_files.download(http, f"{api.url}/big", None, limit=4096)
