from gamevault.api.ratelimit import Policy, TokenBuckets


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_bucket_allows_the_burst_then_refuses_with_retry_after():
    clock = Clock()
    buckets = TokenBuckets(Policy("p", 3, 60), clock=clock)
    assert [buckets.take("a").allowed for _ in range(4)] == [True, True, True, False]
    refused = buckets.take("a")
    assert not refused.allowed and refused.reset_s == 20  # one token per 20 s
    headers = refused.headers()
    assert headers["Retry-After"] == "20"
    assert headers["RateLimit-Policy"] == '"p";q=3;w=60'
    assert headers["RateLimit"].startswith('"p";r=0;t=')


def test_buckets_refill_and_are_per_key():
    clock = Clock()
    buckets = TokenBuckets(Policy("p", 2, 60), clock=clock)
    buckets.take("a"), buckets.take("a")
    assert not buckets.take("a").allowed
    assert buckets.take("b").allowed
    clock.now += 30
    assert buckets.take("a").allowed
    assert not buckets.peek("a").allowed


def test_memory_is_bounded():
    buckets = TokenBuckets(Policy("p", 1, 60), max_keys=10)
    for n in range(100):
        buckets.take(str(n))
    assert len(buckets._buckets) == 10
