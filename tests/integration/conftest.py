import pytest

from tests.support.staff import StaffBrowser, make_account


@pytest.fixture
async def inspector(server):
    """A logged-in inspector's browser session (tab.account is the account)."""
    account = await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("zhangsan")
        tab.account = account
        yield tab
