-- oteldemo-backend schema: users, products (with stock), orders and their items.
-- Applied by `oteldemo-backend --migrate` inside one transaction; recorded in schema_migrations.

CREATE TABLE users (
        id         bigserial PRIMARY KEY,
        name       text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
        email      text NOT NULL UNIQUE CHECK (char_length(email) BETWEEN 3 AND 254),
        created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
        id          bigserial PRIMARY KEY,
        sku         text NOT NULL UNIQUE,
        name        text NOT NULL,
        description text NOT NULL DEFAULT '',
        price_cents integer NOT NULL CHECK (price_cents >= 0),
        currency    char(3) NOT NULL DEFAULT 'USD',
        stock       integer NOT NULL CHECK (stock >= 0)
);

-- Product search is a case-insensitive substring match (lower(name) LIKE '%q%'); without pg_trgm that
-- is a scan, which is fast for the catalogue's size. This index serves prefix searches and keeps the
-- paging order (by id) cheap.
CREATE INDEX products_lower_name_idx ON products (lower(name) text_pattern_ops);

CREATE TABLE orders (
        id              bigserial PRIMARY KEY,
        user_id         bigint NOT NULL REFERENCES users (id),
        status          text NOT NULL CHECK (status IN ('pending', 'paid', 'cancelled')),
        total_cents     bigint NOT NULL CHECK (total_cents >= 0),
        currency        char(3) NOT NULL DEFAULT 'USD',
        -- Client-chosen Idempotency-Key: a retried POST finds the first order through this constraint.
        idempotency_key text UNIQUE,
        created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX orders_user_id_idx ON orders (user_id, id DESC);

CREATE TABLE order_items (
        order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
        product_id       bigint NOT NULL REFERENCES products (id),
        quantity         integer NOT NULL CHECK (quantity BETWEEN 1 AND 1000),
        unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
        PRIMARY KEY (order_id, product_id)
);

CREATE INDEX order_items_product_id_idx ON order_items (product_id);
