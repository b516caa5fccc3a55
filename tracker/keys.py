"""Every Redis key the service uses, built here and nowhere else.

Keys that one command, MULTI or Lua script touches together share a hash tag, so the data can
move to Redis Cluster unchanged: everything a brand owns is tagged `{b:<brand_id>}`; a short
link's resolution is global (the redirect knows only the code) and tagged by its code.

A brand's clicks may be spread over several click shards (the brand's `click_shards`), so that one
slot does not cap a hot brand: shard 0 is the brand's own tag, shard i > 0 is tagged
`{b:<brand_id>:<i>}`. A shard holds its click stream, the markers of the clicks it counted, and
its own click roll-ups (link totals, promotion hours/days/since-posting/all-time), which the
reports sum over the shards; conversions, and their roll-ups, stay on shard 0.
"""

from __future__ import annotations

PREFIX = "il"


def _b(brand_id: str, shard: int = 0) -> str:
    return f"{PREFIX}:{{b:{brand_id}}}" if not shard else f"{PREFIX}:{{b:{brand_id}:{shard}}}"


# -- global ---------------------------------------------------------------------------------
def brands() -> str:
    """Set of all brand ids (workers iterate it)."""
    return f"{PREFIX}:brands"


def dashboard_session(brand_id: str, session_id: str) -> str:
    """A dashboard sign-in: the SHA-256 of the API key it was opened with; expires with it."""
    return f"{_b(brand_id)}:dsess:{session_id}"


def api_key(key_hash: str) -> str:
    """API key hash -> brand id."""
    return f"{PREFIX}:apikey:{key_hash}"


def auth_failures(address: str) -> str:
    """Failed API-key attempts (API or dashboard sign-in) from one client address, in a window
    that starts at the first failure and expires with it."""
    return f"{PREFIX}:authfail:{address}"


def auth_known(key_hash: str, address: str) -> str:
    """An API key (its hash) that succeeded from this client address lately: a block on the
    address does not refuse it."""
    return f"{PREFIX}:authknown:{key_hash}:{address}"


def link_code(code: str) -> str:
    """What the redirect needs to resolve a short code (JSON)."""
    return f"{PREFIX}:{{l:{code.lower()}}}:code"


def secret_key() -> str:
    return f"{PREFIX}:secret-key"


def visitor_salt(day: str) -> str:
    """Random salt of one UTC day for visitor hashes; expires two days later."""
    return f"{PREFIX}:salt:{day}"


def scheduler_lock(name: str) -> str:
    return f"{PREFIX}:sched:{name}"


# -- per brand ------------------------------------------------------------------------------
def brand(brand_id: str) -> str:
    """The brand's own settings (hash)."""
    return f"{_b(brand_id)}:brand"


def entities(brand_id: str, kind: str) -> str:
    """Hash id -> JSON of one kind of entity (influencer, campaign, promotion, link)."""
    return f"{_b(brand_id)}:{kind}"


def entity_order(brand_id: str, kind: str) -> str:
    """Sorted set of ids by creation time, for stable pagination."""
    return f"{_b(brand_id)}:{kind}:order"


def unique_index(brand_id: str, name: str) -> str:
    """Hash value -> id, for per-brand unique fields (campaign slug, influencer handle, ...)."""
    return f"{_b(brand_id)}:uniq:{name}"


def clicks_stream(brand_id: str, shard: int = 0) -> str:
    """Raw click events of one click shard, written by the redirect, read by workers through a
    consumer group, deleted once counted and archived."""
    return f"{_b(brand_id, shard)}:clicks"


def clicks_seen(brand_id: str, shard: int, hour: str) -> str:
    """Set of the clicks a shard counted whose time falls in one hour ('yyyymmddhh'): a 63-bit
    digest of each click id, the exactly-once marker; expires CLICK_DEDUPE_DAYS after its last click."""
    return f"{_b(brand_id, shard)}:seen:{hour}"


def last_unique(brand_id: str, shard: int, link_id: str, hour: str) -> str:
    """Hash of a link's unique clicks in one hour ('yyyymmddhh'): visitor (8-byte digest) -> time
    in ms of their unique click; lives two hours (the next hour still reads it)."""
    return f"{_b(brand_id, shard)}:uv:{link_id}:{hour}"


def link_totals(brand_id: str, link_id: str, shard: int = 0) -> str:
    """Hash of a link's all-time counters: clicks, unique_clicks, bot_hits, and 'bot:<family>' per bot family
    (per click shard: reports sum them), and on shard 0 its conversions, revenue and refunds."""
    return f"{_b(brand_id, shard)}:lt:{link_id}"


def self_links(brand_id: str, influencer_id: str) -> str:
    """How many links an influencer has made from their page (the brand's cap counts them)."""
    return f"{_b(brand_id)}:selflinks:{influencer_id}"


def promotion_hours(brand_id: str, promotion_id: str, shard: int = 0) -> str:
    """Hash of hourly roll-ups of a promotion: field '<yyyymmddhh>:<metric>' -> integer."""
    return f"{_b(brand_id, shard)}:ph:{promotion_id}"


def promotion_days(brand_id: str, promotion_id: str, shard: int = 0) -> str:
    """Hash of daily roll-ups of a promotion, what reports over dates read: '<yyyymmdd>:<metric>'.
    (Before 2026-11-26 it also held the since-posting fields: see tracker.migrations.)"""
    return f"{_b(brand_id, shard)}:pd:{promotion_id}"


def promotion_since(brand_id: str, promotion_id: str, shard: int = 0) -> str:
    """Hash of a promotion's roll-ups by time since posting, what the comparison reads:
    's<n>:<metric>' for hour n < 48, then 'D<d>:<metric>' for day d >= 2."""
    return f"{_b(brand_id, shard)}:ps:{promotion_id}"


def promotion_all_time(brand_id: str, promotion_id: str, shard: int = 0) -> str:
    """Hash of a promotion's all-time totals ('<metric>'), and its first and last day with events
    ('first', 'last': yyyymmdd): what reports covering all of it read."""
    return f"{_b(brand_id, shard)}:pa:{promotion_id}"


def promotion_metrics(brand_id: str, promotion_id: str) -> str:
    """Hash of a promotion's post metrics the brand entered or confirmed: '<yyyy-mm-dd>' -> JSON
    snapshot (cumulative counts as of that day), and 'latest' -> the latest one (what reports read)."""
    return f"{_b(brand_id)}:pm:{promotion_id}"


def promotion_self_metrics(brand_id: str, promotion_id: str) -> str:
    """Hash of post metrics the influencer reported on their page, not yet confirmed by the brand:
    '<yyyy-mm-dd>' -> JSON snapshot. Reports never read it."""
    return f"{_b(brand_id)}:pmi:{promotion_id}"


def bot_rules(brand_id: str) -> str:
    """Hash of the brand's own user-agent patterns: 'exclude' and 'count' (JSON lists), 'updated_at',
    and 'version', bumped on every change (workers recompile when it moves)."""
    return f"{_b(brand_id)}:botrules"


def rollup_state(brand_id: str) -> str:
    """Hash: when the brand's numbers were last rolled up, how many events."""
    return f"{_b(brand_id)}:rollup"


# -- conversions ----------------------------------------------------------------------------
def order_index(brand_id: str) -> str:
    """Hash '<source>:<order id>' -> conversion id: one conversion per order, ever."""
    return f"{_b(brand_id)}:orders"


def conversions(brand_id: str) -> str:
    """Hash conversion id -> JSON record (the order and the attribution decision)."""
    return entities(brand_id, "conversion")


def conversion_order(brand_id: str) -> str:
    return entity_order(brand_id, "conversion")


def conversion_amounts(brand_id: str) -> str:
    """Hash conversion id -> order amount (minor units), for refunds to cap against."""
    return f"{_b(brand_id)}:conv-amount"


def conversion_refunded(brand_id: str) -> str:
    """Hash conversion id -> amount refunded so far (minor units, never above the amount)."""
    return f"{_b(brand_id)}:conv-refunded"


def order_refunds(brand_id: str, source: str, order_id: str) -> str:
    """Hash refund id -> amount, of one order; kept even before the order arrives."""
    return f"{_b(brand_id)}:refunds:{source}:{order_id}"


def conversions_stream(brand_id: str) -> str:
    """Order and refund events for the roll-up workers."""
    return f"{_b(brand_id)}:conversions"


def integrations(brand_id: str) -> str:
    """Hash source -> JSON {secrets: [...], settings} of the brand's webhook sources."""
    return f"{_b(brand_id)}:integrations"


def rates(brand_id: str) -> str:
    """Hash currency -> Decimal text: reporting-currency units per unit of that currency."""
    return f"{_b(brand_id)}:rates"


def delivery(brand_id: str, source: str, delivery_id: str) -> str:
    """A platform's webhook delivery id, seen (the order/refund ids are the real guard)."""
    return f"{_b(brand_id)}:delivery:{source}:{delivery_id}"


def portal_token(token_hash: str) -> str:
    """SHA-256 of an influencer page token -> JSON {brand, influencer, id}; global: the page knows only the token."""
    return f"{PREFIX}:portal:{token_hash}"


def portal_tokens(brand_id: str, influencer_id: str) -> str:
    """Hash token id -> JSON {id, hint, hash, created_at} of one influencer's page tokens."""
    return f"{_b(brand_id)}:portal:{influencer_id}"


def postback_token(token_hash: str) -> str:
    """SHA-256 of a postback token -> brand id."""
    return f"{PREFIX}:postback:{token_hash}"


# -- roll-ups -------------------------------------------------------------------------------
def unattributed_hours(brand_id: str) -> str:
    """Hash of the brand's unattributed orders by hour: '<yyyymmddhh>:orders', ':revenue:<CUR>', ':reason:<r>'."""
    return f"{_b(brand_id)}:uh"


def unattributed_days(brand_id: str) -> str:
    """Hash of the brand's unattributed orders by day, what reports read (fields as unattributed_hours)."""
    return f"{_b(brand_id)}:ud"


def ttc_histogram(brand_id: str, promotion_id: str) -> str:
    """Hash '<yyyymmdd>:<bin>' -> conversions of that day whose time from click fell in that log
    bin: what reports over a date range read."""
    return f"{_b(brand_id)}:ttc:{promotion_id}"


def ttc_all_time(brand_id: str, promotion_id: str) -> str:
    """String of big-endian u32 counters (BITFIELD), counter i = conversions in log bin i, all
    days: what reports covering the promotion's whole life read, in one fixed-size value."""
    return f"{_b(brand_id)}:ttca:{promotion_id}"


def schema(brand_id: str) -> str:
    """Hash of the brand's roll-up migrations done (tracker.migrations): '<name>' -> when."""
    return f"{_b(brand_id)}:schema"


def applied_event(brand_id: str, entry_id: str) -> str:
    """Marks a conversion-stream entry as folded into the roll-ups (kept for the retention)."""
    return f"{_b(brand_id)}:applied:{entry_id}"


# -- series and breakdowns (by the brand's local day) ----------------------------------------
def day_series(brand_id: str, subject: str, day: str, shard: int = 0) -> str:
    """Hash of one subject's counters of one local day ('yyyymmdd' in the brand's time zone when
    rolled up): 'clicks', 'unique_clicks', 'bot_hits' (per click shard), 'conversions',
    'revenue:<CUR>' (shard 0), and the same per local hour as 'h<HH>:<metric>'. The subject is
    'l:<link id>', or 'p:<promotion id>' for its orders attributed without a click."""
    return f"{_b(brand_id, shard)}:ds:{subject}:{day}"


def day_breakdown(brand_id: str, subject: str, day: str, shard: int = 0) -> str:
    """Hash of one link's clicks of one local day by dimension value: '<dimension>:<value>' ->
    clicks (dimensions r, cc, d, b, o: referrer host, country, device, browser, OS); values past
    the cap of a dimension add to '<dimension>:~' (other), 'n:<dimension>' counts the values kept."""
    return f"{_b(brand_id, shard)}:db:{subject}:{day}"
