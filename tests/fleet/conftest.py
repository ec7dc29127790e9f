import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def fresh_cache():
    """Tests build inventory rows directly, past the code that forgets the page's cached counts."""
    cache.clear()
    yield
    cache.clear()
