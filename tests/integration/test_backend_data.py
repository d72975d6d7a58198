# The backend's data side (src/backend: pool, migrations, users, products, orders, payment, faults)
# against a real PostgreSQL, driven through tests/programs/shop-cli, which calls shop.h directly and
# prints one JSON line per call.
import errno
import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import clean_env, program_argv, scaled
from pg import PgCluster, pg_cluster, pg_database  # noqa: F401  (pytest fixtures)

REPO = Path(__file__).resolve().parent.parent.parent
MIGRATIONS = REPO / "db"
CLI_TIMEOUT_S = 60
FAST_FAILURE_MS = 1000
RECOVERY_TIMEOUT_S = 10
SAMPLE_USERS = 120
SAMPLE_PRODUCTS = 1200


class Shop:
    """shop-cli bound to one database."""

    def __init__(self, cli, conninfo, db):
        self.cli = cli
        self.conninfo = conninfo
        self.db = db

    def env(self, **extra):
        return clean_env(dict({"SHOP_CONNINFO": self.conninfo, "OTEL_SDK_DISABLED": "true"}, **extra))

    def run(self, *args, **env):
        out = subprocess.run(program_argv([self.cli, *args]), env=self.env(**env), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, timeout=scaled(CLI_TIMEOUT_S))
        assert out.returncode == 0, f"shop-cli {args} exited {out.returncode}: {out.stderr}"
        return json.loads(out.stdout.strip().splitlines()[-1])

    def ok(self, *args, **env):
        res = self.run(*args, **env)
        assert res["ok"], f"shop-cli {args}: {res}"
        return res["body"]

    def status(self, *args, **env):
        """The HTTP status the result maps to (200 for success)."""
        res = self.run(*args, **env)
        return 200 if res["ok"] else res["status"]

    def stock(self, product_id):
        return int(self.db.scalar(f"SELECT stock FROM products WHERE id = {int(product_id)}"))

    def count(self, table):
        return int(self.db.scalar(f"SELECT count(*) FROM {table}"))


class Repl:
    """A long-running shop-cli (one pool for many calls)."""

    def __init__(self, shop, **env):
        self.proc = subprocess.Popen(program_argv([shop.cli, "repl"]), env=shop.env(**env), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def call(self, *args):
        self.proc.stdin.write(json.dumps([str(a) for a in args]) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, "shop-cli repl died"
        return json.loads(line)

    def close(self):
        self.proc.stdin.close()
        try:
            assert self.proc.wait(timeout=CLI_TIMEOUT_S) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()


@pytest.fixture(scope="session")
def shop_cli(build_dir):
    path = build_dir / "tests" / "programs" / "shop-cli"
    assert path.exists(), f"{path} is not built"
    return path


@pytest.fixture
def fresh_shop(shop_cli, pg_database):
    """An empty database."""
    return Shop(shop_cli, pg_database.conninfo, pg_database)


@pytest.fixture
def shop(fresh_shop):
    """A migrated database with the sample data."""
    fresh_shop.ok("migrate", MIGRATIONS)
    return fresh_shop


def order_body(user_id=1, product_id=1, quantity=1):
    return json.dumps({"user_id": user_id, "product_id": product_id, "quantity": quantity})


# ---- migrations ------------------------------------------------------------------------------------

def test_migrate_records_each_migration_in_schema_migrations(fresh_shop):
    fresh_shop.ok("migrate", MIGRATIONS)
    rows = fresh_shop.db.sql("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows == [["1", "0001_init.sql"], ["2", "0002_sample_data.sql"], ["3", "0003_order_flow.sql"],
                    ["4", "0004_order_reserve_fewer_statements.sql"]]


def test_migrate_twice_applies_nothing_the_second_time(shop):
    before = [shop.count(t) for t in ("users", "products", "orders", "order_items", "schema_migrations")]
    shop.ok("migrate", MIGRATIONS)
    after = [shop.count(t) for t in ("users", "products", "orders", "order_items", "schema_migrations")]
    assert after == before


def test_concurrent_migrations_apply_each_migration_once(fresh_shop):
    procs = [subprocess.Popen([str(fresh_shop.cli), "migrate", str(MIGRATIONS)], env=fresh_shop.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    results = [json.loads(p.communicate(timeout=CLI_TIMEOUT_S)[0]) for p in procs]
    assert all(r["ok"] for r in results), results
    assert fresh_shop.count("users") == SAMPLE_USERS
    assert fresh_shop.count("products") == SAMPLE_PRODUCTS
    assert fresh_shop.count("schema_migrations") == 4


def test_migrate_fails_on_missing_directory(fresh_shop, tmp_path):
    res = fresh_shop.run("migrate", tmp_path / "nope")
    assert (res["ok"], res["errno"], res["error"]) == (False, -errno.ENOENT, "migrate failed: No such file or directory")
    assert fresh_shop.db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'") == "0"


# The schema check says "too old" with -ESTALE (the backend's cue to print "run --migrate").
def test_check_schema_rejects_unmigrated_database(fresh_shop):
    res = fresh_shop.run("check-schema")
    assert (res["ok"], res["errno"]) == (False, -errno.ESTALE), res


def test_check_schema_rejects_older_schema(shop):
    assert shop.run("check-schema")["ok"]  # positive control: the same database passes before
    shop.db.sql("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)")
    res = shop.run("check-schema")
    assert (res["ok"], res["errno"]) == (False, -errno.ESTALE), res


def test_check_schema_accepts_migrated_database(shop):
    assert shop.run("check-schema")["ok"]


def test_sample_data_has_realistic_users_products_and_orders(shop):
    assert shop.count("users") >= 100
    assert shop.count("products") >= 1000
    assert shop.count("orders") >= 50
    assert int(shop.db.scalar("SELECT count(DISTINCT name) FROM products")) >= 1000
    assert shop.db.sql("SELECT min(price_cents) > 0, max(price_cents) < 100000, min(stock) >= 0 FROM products") \
        == [["t", "t", "t"]]
    # Every sample order's total is the sum of its items.
    assert shop.db.scalar("SELECT count(*) FROM orders o WHERE total_cents <> (SELECT sum(quantity * "
                          "unit_price_cents) FROM order_items WHERE order_id = o.id)") == "0"


# ---- users -----------------------------------------------------------------------------------------

def test_users_list_defaults_to_50_and_reports_total(shop):
    body = shop.ok("users-list", -1, 0)
    assert (len(body["items"]), body["limit"], body["offset"], body["total"]) == (50, 50, 0, SAMPLE_USERS)
    assert [u["id"] for u in body["items"]] == list(range(1, 51))


def test_users_list_offset_past_the_end_is_empty_with_total(shop):
    body = shop.ok("users-list", 10, 500)
    assert body["items"] == [] and body["total"] == SAMPLE_USERS


@pytest.mark.parametrize("limit,offset", [(0, 0), (201, 0), (10, -1)])
def test_users_list_rejects_bad_paging(shop, limit, offset):
    assert shop.status("users-list", limit, offset) == 400


def test_user_get_returns_user(shop):
    user = shop.ok("user-get", 1)
    assert user["id"] == 1 and user["name"] == "Ada Lovelace" and user["email"] == "ada.lovelace1@example.com"
    assert user["created_at"].endswith("Z")


def test_user_get_unknown_is_404(shop):
    assert shop.status("user-get", 999999) == 404


def test_user_create_returns_new_user(shop):
    user = shop.ok("user-create", json.dumps({"name": "Émilie du Châtelet", "email": "emilie@example.org"}))
    assert user["id"] > SAMPLE_USERS and user["name"] == "Émilie du Châtelet"
    assert shop.db.scalar(f"SELECT email FROM users WHERE id = {user['id']}") == "emilie@example.org"


def test_user_create_duplicate_email_is_409(shop):
    assert shop.status("user-create", json.dumps({"name": "X", "email": "ada.lovelace1@example.com"})) == 409


@pytest.mark.parametrize("body", [
    "[]",
    "{}",
    '{"name": "A"}',
    '{"email": "a@b.c"}',
    '{"name": 5, "email": "a@b.c"}',
    '{"name": "A", "email": null}',
    '{"name": "", "email": "a@b.c"}',
    json.dumps({"name": "x" * 101, "email": "a@b.c"}),
    json.dumps({"name": "é" * 101, "email": "a@b.c"}),
    '{"name": "bell\\u0007", "email": "a@b.c"}',
    '{"name": "nul\\u0000byte", "email": "a@b.c"}',
    '{"name": "A", "email": "no-at-sign"}',
    '{"name": "A", "email": "a@b@c"}',
    '{"name": "A", "email": "@b.c"}',
    json.dumps({"name": "A", "email": "a@" + "b" * 253}),
    '{"name": "A", "email": "a@b.c", "admin": true}',
])
def test_user_create_rejects_invalid_body(shop, body):
    before = shop.count("users")
    assert shop.status("user-create", body) == 400
    assert shop.count("users") == before


def test_user_create_accepts_100_multibyte_characters(shop):
    assert shop.status("user-create", json.dumps({"name": "é" * 100, "email": "e@example.com"})) == 200


# ---- products --------------------------------------------------------------------------------------

def test_products_list_pages_by_id(shop):
    body = shop.ok("products-list", 200, 1000)
    assert len(body["items"]) == 200 and body["total"] == SAMPLE_PRODUCTS
    assert [p["id"] for p in body["items"]] == list(range(1001, 1201))
    assert set(body["items"][0]) == {"id", "sku", "name", "description", "price_cents", "currency", "stock"}


def test_products_search_is_case_insensitive_substring(shop):
    body = shop.ok("products-list", 200, 0, "dESK lAMP")
    expected = int(shop.db.scalar("SELECT count(*) FROM products WHERE name ILIKE '%desk lamp%'"))
    assert expected > 0 and body["total"] == expected
    assert all("desk lamp" in p["name"].lower() for p in body["items"])


@pytest.mark.parametrize("q", ["%", "_", "\\", "Desk_Lamp", "100%"])
def test_products_search_matches_like_wildcards_literally(shop, q):
    assert shop.ok("products-list", 10, 0, q)["total"] == 0


def test_products_search_rejects_overlong_query(shop):
    assert shop.status("products-list", 10, 0, "x" * 201) == 400


def test_product_get_returns_product(shop):
    p = shop.ok("product-get", 1)
    assert p["id"] == 1 and p["sku"] == "OTD-00001" and p["currency"] == "USD" and p["price_cents"] > 0


def test_product_get_unknown_is_404(shop):
    assert shop.status("product-get", 424242) == 404


def test_product_failure_fault_fails_that_product_with_500(shop):
    faults = json.dumps({"product_failure_id": 7})
    assert shop.status("product-get", 7, SHOP_FAULTS=faults) == 500
    assert shop.status("product-get", 8, SHOP_FAULTS=faults) == 200
    assert shop.status("order-create", order_body(product_id=7), SHOP_FAULTS=faults) == 500


# ---- orders ----------------------------------------------------------------------------------------

def test_order_create_decrements_stock_and_returns_order(shop):
    stock = shop.stock(5)
    order = shop.ok("order-create", order_body(user_id=2, product_id=5, quantity=3))
    price = int(shop.db.scalar("SELECT price_cents FROM products WHERE id = 5"))
    assert order["user_id"] == 2 and order["status"] == "paid" and order["total_cents"] == 3 * price
    assert order["items"] == [{"product_id": 5, "quantity": 3, "unit_price_cents": price}]
    assert shop.stock(5) == stock - 3
    assert shop.ok("order-get", order["id"]) == order


def test_order_create_with_items_records_every_line(shop):
    body = json.dumps({"user_id": 3, "items": [{"product_id": 9, "quantity": 1}, {"product_id": 4, "quantity": 2}]})
    order = shop.ok("order-create", body)
    assert [(i["product_id"], i["quantity"]) for i in order["items"]] == [(4, 2), (9, 1)]
    assert shop.db.scalar(f"SELECT count(*) FROM order_items WHERE order_id = {order['id']}") == "2"


def test_order_create_unknown_user_is_404(shop):
    before = shop.stock(1)
    assert shop.status("order-create", order_body(user_id=99999)) == 404
    assert shop.stock(1) == before


def test_order_create_unknown_product_is_404_and_changes_nothing(shop):
    body = json.dumps({"user_id": 1, "items": [{"product_id": 2, "quantity": 1}, {"product_id": 99999, "quantity": 1}]})
    before = (shop.stock(2), shop.count("orders"))
    assert shop.status("order-create", body) == 404
    assert (shop.stock(2), shop.count("orders")) == before


def test_order_create_beyond_stock_is_409_and_changes_nothing(shop):
    shop.db.sql("UPDATE products SET stock = 2 WHERE id = 6")
    before = shop.count("orders")
    assert shop.status("order-create", order_body(product_id=6, quantity=3)) == 409
    assert shop.stock(6) == 2 and shop.count("orders") == before


def test_order_create_second_line_beyond_stock_is_409_and_gives_the_first_line_back(shop):
    shop.db.sql("UPDATE products SET stock = 0 WHERE id = 8")
    body = json.dumps({"user_id": 1, "items": [{"product_id": 3, "quantity": 2}, {"product_id": 8, "quantity": 1}]})
    before = (shop.stock(3), shop.stock(8), shop.count("orders"))
    assert shop.status("order-create", body) == 409
    assert (shop.stock(3), shop.stock(8), shop.count("orders")) == before


def test_order_create_of_two_currencies_is_400_and_changes_nothing(shop):
    shop.db.sql("UPDATE products SET currency = 'EUR' WHERE id = 5")
    body = json.dumps({"user_id": 1, "items": [{"product_id": 4, "quantity": 1}, {"product_id": 5, "quantity": 1}]})
    before = (shop.stock(4), shop.stock(5), shop.count("orders"))
    assert shop.status("order-create", body) == 400
    assert (shop.stock(4), shop.stock(5), shop.count("orders")) == before


@pytest.mark.parametrize("body", [
    "null",
    '{"user_id": 1}',
    '{"user_id": 1, "product_id": 1}',
    '{"user_id": 1, "product_id": 1, "quantity": 0}',
    '{"user_id": 1, "product_id": 1, "quantity": 1001}',
    '{"user_id": 1, "product_id": 1, "quantity": 1.5}',
    '{"user_id": 1, "product_id": "1", "quantity": 1}',
    '{"user_id": 0, "product_id": 1, "quantity": 1}',
    '{"user_id": -1, "product_id": 1, "quantity": 1}',
    '{"user_id": 1, "product_id": 1, "quantity": 99999999999999999999999}',
    '{"user_id": true, "product_id": 1, "quantity": 1}',
    '{"user_id": 1, "items": []}',
    '{"user_id": 1, "items": {}}',
    '{"user_id": 1, "items": [{"product_id": 1, "quantity": 1}, {"product_id": 1, "quantity": 2}]}',
    '{"user_id": 1, "items": [{"product_id": 1, "quantity": 1, "x": 1}]}',
    '{"user_id": 1, "product_id": 1, "quantity": 1, "items": [{"product_id": 1, "quantity": 1}]}',
    json.dumps({"user_id": 1, "items": [{"product_id": i, "quantity": 1} for i in range(1, 52)]}),
])
def test_order_create_rejects_invalid_body(shop, body):
    before = shop.count("orders")
    assert shop.status("order-create", body) == 400
    assert shop.count("orders") == before


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "tab\there"])
def test_order_create_rejects_invalid_idempotency_key(shop, key):
    assert shop.status("order-create", order_body(), key) == 400


def test_order_get_unknown_is_404(shop):
    assert shop.status("order-get", 999999) == 404


def test_user_orders_lists_newest_first(shop):
    first = shop.ok("order-create", order_body(user_id=1, product_id=10))
    second = shop.ok("order-create", order_body(user_id=1, product_id=11))
    body = shop.ok("user-orders", 1)
    assert [o["id"] for o in body["items"]] == [second["id"], first["id"]] and body["total"] == 2
    assert body["items"][0] == second


def test_user_orders_of_user_without_orders_is_empty(shop):
    shop.db.sql("DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE user_id = 5);"
                "DELETE FROM orders WHERE user_id = 5")
    assert shop.ok("user-orders", 5) == {"items": [], "total": 0}


def test_user_orders_unknown_user_is_404(shop):
    assert shop.status("user-orders", 999999) == 404


def test_fifty_concurrent_orders_for_stock_ten_sell_exactly_ten(shop):
    shop.db.sql("UPDATE products SET stock = 10 WHERE id = 20")
    res = shop.ok("concurrent-orders", 50, order_body(product_id=20), SHOP_POOL_SIZE=10,
                  SHOP_ACQUIRE_TIMEOUT_MS=20000)
    statuses = sorted(r["status"] for r in res["results"])
    assert statuses == [201] * 10 + [409] * 40
    assert shop.stock(20) == 0
    assert shop.db.scalar("SELECT coalesce(sum(quantity), 0) FROM order_items i JOIN orders o ON o.id = i.order_id "
                          "WHERE i.product_id = 20 AND o.created_at > now() - interval '1 hour'") == "10"


def test_concurrent_multi_item_orders_in_opposite_order_do_not_deadlock(shop):
    shop.db.sql("UPDATE products SET stock = 1000 WHERE id IN (30, 31)")
    a = json.dumps({"user_id": 1, "items": [{"product_id": 30, "quantity": 1}, {"product_id": 31, "quantity": 1}]})
    b = json.dumps({"user_id": 1, "items": [{"product_id": 31, "quantity": 1}, {"product_id": 30, "quantity": 1}]})
    procs = [subprocess.Popen([str(shop.cli), "concurrent-orders", "10", body], env=shop.env(SHOP_POOL_SIZE=10),
                              stdout=subprocess.PIPE, text=True) for body in (a, b)]
    results = [json.loads(p.communicate(timeout=CLI_TIMEOUT_S)[0])["body"]["results"] for p in procs]
    assert [r["status"] for rs in results for r in rs] == [201] * 20
    assert (shop.stock(30), shop.stock(31)) == (980, 980)


# ---- idempotency -----------------------------------------------------------------------------------

def test_idempotency_key_repeat_returns_the_first_order(shop):
    stock = shop.stock(12)
    first = shop.run("order-create", order_body(product_id=12, quantity=2), "key-1")
    again = shop.run("order-create", order_body(product_id=12, quantity=2), "key-1")
    assert first["ok"] and not first["replayed"]
    assert again["ok"] and again["replayed"] and again["body"] == first["body"]
    assert shop.stock(12) == stock - 2
    assert shop.db.scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'key-1'") == "1"


def test_idempotency_key_repeat_returns_the_first_order_when_the_stock_is_gone(shop):
    first = shop.run("order-create", order_body(product_id=9), "key-gone")
    shop.db.sql("UPDATE products SET stock = 0 WHERE id = 9")
    again = shop.run("order-create", order_body(product_id=9), "key-gone")
    assert first["ok"] and again["ok"] and again["replayed"] and again["body"] == first["body"]
    assert shop.stock(9) == 0


def test_idempotency_key_concurrent_repeats_create_one_order(shop):
    stock = shop.stock(13)
    res = shop.ok("concurrent-orders", 20, order_body(product_id=13), "key-concurrent", SHOP_POOL_SIZE=10,
                  SHOP_ACQUIRE_TIMEOUT_MS=20000)["results"]
    assert sorted(r["status"] for r in res) == [200] * 19 + [201]
    assert len({r["order_id"] for r in res}) == 1
    assert shop.stock(13) == stock - 1
    assert shop.db.scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'key-concurrent'") == "1"


def test_idempotency_key_of_a_failed_order_is_not_kept(shop):
    shop.db.sql("UPDATE products SET stock = 0 WHERE id = 14")
    assert shop.status("order-create", order_body(product_id=14), "key-retry") == 409
    shop.db.sql("UPDATE products SET stock = 1 WHERE id = 14")
    res = shop.run("order-create", order_body(product_id=14), "key-retry")
    assert res["ok"] and not res["replayed"]


# ---- payment ---------------------------------------------------------------------------------------

def test_declined_payment_is_402_and_rolls_back(shop):
    before = (shop.stock(15), shop.count("orders"))
    faults = json.dumps({"payment_failure_rate": 1.0})
    assert shop.status("order-create", order_body(product_id=15), SHOP_FAULTS=faults) == 402
    assert (shop.stock(15), shop.count("orders")) == before


def test_unreachable_payment_provider_is_502(shop):
    before = shop.stock(16)
    assert shop.status("order-create", order_body(product_id=16),
                       SHOP_FAULTS=json.dumps({"payment_unreachable": True})) == 502
    assert shop.stock(16) == before


def test_payment_latency_fault_slows_orders(shop):
    res = shop.run("order-create", order_body(product_id=17), SHOP_FAULTS=json.dumps({"payment_latency_ms": 300}))
    assert res["ok"] and res["elapsed_ms"] >= 300 + 20


def test_payment_latency_beyond_the_client_timeout_is_504(shop):
    res = shop.run("order-create", order_body(product_id=18), SHOP_FAULTS=json.dumps({"payment_latency_ms": 6000}))
    assert not res["ok"] and res["status"] == 504


# ---- reserve → pay → confirm: compensation --------------------------------------------------------

def pending_orders(shop):
    return int(shop.db.scalar("SELECT count(*) FROM orders WHERE status = 'pending'"))


def test_declined_payment_restores_stock_and_frees_the_idempotency_key(shop):
    declined = json.dumps({"payment_failure_rate": 1.0})
    stock, orders, items = shop.stock(24), shop.count("orders"), shop.count("order_items")
    assert shop.status("order-create", order_body(product_id=24, quantity=3), "key-declined", SHOP_FAULTS=declined) == 402
    assert (shop.stock(24), shop.count("orders"), shop.count("order_items")) == (stock, orders, items)
    assert shop.db.scalar("SELECT count(*) FROM orders WHERE idempotency_key = 'key-declined'") == "0"
    # The same retry gets the same answer and still changes nothing.
    assert shop.status("order-create", order_body(product_id=24, quantity=3), "key-declined", SHOP_FAULTS=declined) == 402
    assert (shop.stock(24), shop.count("orders")) == (stock, orders)
    # Once the provider accepts, the key creates the order exactly once.
    first = shop.run("order-create", order_body(product_id=24, quantity=3), "key-declined")
    again = shop.run("order-create", order_body(product_id=24, quantity=3), "key-declined")
    assert first["ok"] and not first["replayed"] and again["replayed"] and again["body"] == first["body"]
    assert shop.stock(24) == stock - 3 and shop.count("orders") == orders + 1


def test_unreachable_payment_provider_restores_every_line_of_the_order(shop):
    before = (shop.stock(25), shop.stock(26), shop.count("orders"), shop.count("order_items"))
    body = json.dumps({"user_id": 3, "items": [{"product_id": 26, "quantity": 2}, {"product_id": 25, "quantity": 1}]})
    assert shop.status("order-create", body, "key-unreachable", SHOP_FAULTS=json.dumps({"payment_unreachable": True})) == 502
    assert (shop.stock(25), shop.stock(26), shop.count("orders"), shop.count("order_items")) == before
    assert pending_orders(shop) == 0


def test_concurrent_duplicates_of_a_declined_order_change_nothing(shop):
    stock, orders = shop.stock(27), shop.count("orders")
    res = shop.ok("concurrent-orders", 10, order_body(product_id=27), "key-dup-declined", SHOP_POOL_SIZE=10,
                  SHOP_ACQUIRE_TIMEOUT_MS=20000, SHOP_FAULTS=json.dumps({"payment_failure_rate": 1.0}))["results"]
    statuses = [r["status"] for r in res]
    # 409: a duplicate gave up waiting for the others to settle; 503: on a loaded machine a connection
    # attempt can pass its deadline and the pool then fails fast. Neither applies anything.
    assert 402 in statuses and set(statuses) <= {402, 409, 503}, statuses
    assert (shop.stock(27), shop.count("orders"), pending_orders(shop)) == (stock, orders, 0)


def test_an_order_does_not_wait_for_another_orders_payment_on_the_same_product(shop):
    shop.db.sql("UPDATE products SET stock = 100 WHERE id = 28")
    slow = subprocess.Popen([str(shop.cli), "order-create", order_body(product_id=28)], stdout=subprocess.PIPE,
                            text=True, env=shop.env(SHOP_FAULTS=json.dumps({"payment_latency_ms": 3000})))
    try:
        deadline = time.monotonic() + CLI_TIMEOUT_S
        while pending_orders(shop) == 0:  # the slow order holds its reservation while it pays
            assert slow.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        fast = shop.run("order-create", order_body(product_id=28))
        assert fast["ok"] and fast["elapsed_ms"] < 1500, fast
        assert shop.stock(28) == 98
    finally:
        out, _ = slow.communicate(timeout=CLI_TIMEOUT_S)
    assert json.loads(out.strip().splitlines()[-1])["ok"]
    assert shop.stock(28) == 98 and pending_orders(shop) == 0


# ---- faults ----------------------------------------------------------------------------------------

def test_faults_partial_update_keeps_other_fields(shop):
    body = shop.ok("faults", json.dumps({"payment_latency_ms": 5}), SHOP_FAULTS=json.dumps({"db_slow_query_ms": 7}))
    assert body == {"payment_failure_rate": 0.0, "payment_latency_ms": 5, "payment_unreachable": False,
                    "db_slow_query_ms": 7, "product_failure_id": 0}


@pytest.mark.parametrize("faults", ['{"payment_failure_rate": 1.5}', '{"payment_failure_rate": "0.5"}',
                                    '{"payment_latency_ms": -1}', '{"payment_latency_ms": 60001}',
                                    '{"payment_unreachable": 1}', '{"product_failure_id": -3}',
                                    '{"bogus": 1}', '[]'])
def test_faults_rejects_invalid_values(shop, faults):
    assert shop.status("faults", faults) == 400


def test_slow_query_fault_delays_queries(shop):
    res = shop.run("product-get", 1, SHOP_FAULTS=json.dumps({"db_slow_query_ms": 250}))
    assert res["ok"] and res["elapsed_ms"] >= 250


def test_busy_pool_fails_with_503_after_the_acquire_timeout(shop):
    res = shop.ok("concurrent-orders", 2, order_body(product_id=19), SHOP_POOL_SIZE=1, SHOP_ACQUIRE_TIMEOUT_MS=100,
                  SHOP_FAULTS=json.dumps({"db_slow_query_ms": 400}))["results"]
    assert sorted(r["status"] for r in res) == [201, 503]


# ---- SQL injection ---------------------------------------------------------------------------------

INJECTIONS = ["Robert'); DROP TABLE users;--", "' OR '1'='1", "1; DELETE FROM products", "$1", "\\'; --"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_injection_in_user_name_is_stored_literally(shop, text):
    user = shop.ok("user-create", json.dumps({"name": text, "email": "inj@example.com"}))
    assert shop.ok("user-get", user["id"])["name"] == text
    assert shop.count("users") == SAMPLE_USERS + 1 and shop.count("products") == SAMPLE_PRODUCTS


@pytest.mark.parametrize("text", INJECTIONS)
def test_sql_injection_in_search_matches_nothing_and_changes_nothing(shop, text):
    assert shop.ok("products-list", 10, 0, text)["total"] == 0
    assert shop.count("users") == SAMPLE_USERS and shop.count("products") == SAMPLE_PRODUCTS


def test_sql_injection_in_idempotency_key_is_stored_literally(shop):
    key = "';DELETE/**/FROM/**/orders;--"
    before = shop.count("orders")
    assert shop.ok("order-create", order_body(product_id=21), key)
    assert shop.count("orders") == before + 1
    assert shop.db.scalar("SELECT idempotency_key FROM orders ORDER BY id DESC LIMIT 1") == key


# ---- database outage -------------------------------------------------------------------------------

def test_database_down_fails_fast_with_503_and_recovers_without_restart(shop_cli):
    cluster = PgCluster()
    try:
        db = cluster.create_database("outage")
        shop = Shop(shop_cli, db.conninfo, db)
        shop.ok("migrate", MIGRATIONS)
        repl = Repl(shop, SHOP_POOL_SIZE=4, SHOP_ACQUIRE_TIMEOUT_MS=2000)
        try:
            assert repl.call("product-get", 1)["ok"]
            assert repl.call("ping", 500)["ok"]
            cluster.stop()
            for cmd in (("product-get", 1), ("users-list", 5, 0), ("order-create", order_body()),
                        ("product-get", 2), ("user-get", 1)):
                res = repl.call(*cmd)
                assert not res["ok"] and res["status"] == 503, res
                assert res["elapsed_ms"] < FAST_FAILURE_MS, res
            res = repl.call("ping", 500)
            assert not res["ok"] and res["elapsed_ms"] < FAST_FAILURE_MS
            cluster.start()
            deadline = time.monotonic() + RECOVERY_TIMEOUT_S
            while True:
                res = repl.call("product-get", 1)
                if res["ok"]:
                    break
                assert res["status"] == 503 and time.monotonic() < deadline, res
                time.sleep(0.1)
            # Every pooled connection comes back, not just one.
            for _ in range(8):
                assert repl.call("order-create", order_body(product_id=22))["ok"]
            counts = repl.call("pool-counts")["body"]
            assert counts["used"] == 0 and counts["idle"] >= 1
        finally:
            repl.close()
    finally:
        cluster.close()


# ---- telemetry -------------------------------------------------------------------------------------

def _spans(requests):
    spans = []
    for req in requests:
        for rs in (req.get("decoded") or {}).get("resourceSpans", []):
            for ss in rs.get("scopeSpans", []):
                spans.extend(ss.get("spans", []))
    return spans


def _attrs(span):
    out = {}
    for kv in span.get("attributes", []):
        (value,) = kv["value"].values()
        out[kv["key"]] = value
    return out


def test_order_create_exports_client_spans_for_queries_and_payment(shop, otlp_receiver):
    env = {"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none",
           "OTEL_LOGS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
           "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf", "OTEL_TRACES_SAMPLER": "always_on"}
    assert shop.ok("order-create", order_body(user_id=4, product_id=23, quantity=2), **env)
    spans = _spans(otlp_receiver.wait_for_requests(1))
    by_name = {s["name"]: s for s in spans}

    reserve = by_name["order_reserve orders"]
    attrs = _attrs(reserve)
    assert reserve["kind"] == 3 and "order_reserve($1" in attrs["db.query.text"]
    assert attrs["db.system.name"] == "postgresql" and attrs["db.namespace"] == shop.db.name
    assert attrs["db.operation.name"] == "order_reserve" and attrs["db.collection.name"] == "orders"
    assert "23" not in attrs["db.query.text"]
    assert attrs["server.address"] == "127.0.0.1" and int(attrs["server.port"]) == shop.db.cluster.port
    assert reserve["parentSpanId"] == by_name["order.reserve_stock"]["spanId"]
    assert by_name["order.reserve_stock"]["kind"] == 1

    payment = by_name["payment.authorize"]
    assert payment["kind"] == 3 and _attrs(payment)["peer.service"] == "payment-provider"
    assert payment["parentSpanId"] == by_name["order.payment"]["spanId"]
    assert by_name["UPDATE orders"]["parentSpanId"] == by_name["order.commit"]["spanId"]
    # One subtree: every step is a child of order.create; no transaction statements any more.
    root = by_name["order.create"]
    assert root["kind"] == 1 and not root.get("parentSpanId")
    for step in ("order.validate", "order.reserve_stock", "order.payment", "order.commit"):
        assert by_name[step]["parentSpanId"] == root["spanId"] and by_name[step]["traceId"] == root["traceId"]
    assert not {"BEGIN", "COMMIT", "ROLLBACK"} & set(by_name)
