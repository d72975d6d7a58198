-- order_reserve in fewer statements, each with a plan PostgreSQL caches (same outcomes as in
-- 0003_order_flow.sql: 'reserved', 'exists', 'no_user', 'no_product', 'currency', 'no_stock'):
--  - one UPDATE per line locks the product, checks and takes its stock (WHERE stock >= quantity,
--    re-checked on the newest row version after a lock wait, so there is no oversell), instead of a
--    SELECT ... FOR UPDATE of all lines and an UPDATE ... FROM unnest(). Those two statements had array
--    parameters: their generic plan looked costlier than a custom plan for the actual one-element
--    arrays, so the plan cache planned them afresh on every call (≈ 75 µs each, pg_stat_statements
--    plans = calls). The lines come sorted by product id, so rows are still locked in id order and
--    concurrent orders cannot deadlock. A line that fails gives the stock of the lines before it back
--    in the same transaction (nobody else saw it: those rows stay locked until the end).
--  - the Idempotency-Key is looked up only when the order cannot be made or when the insert found an
--    order with this key (INSERT ... ON CONFLICT DO NOTHING: the unique index decides, and a concurrent
--    insert of the same key waits there for the other transaction), not before every insert.
-- For a one-line order: 4 statements (+ the foreign-key checks of the inserts) instead of 6.
CREATE OR REPLACE FUNCTION order_reserve(p_user bigint, p_key text, p_ids bigint[], p_qty integer[],
                                         OUT ret_outcome text, OUT ret_order_id bigint, OUT ret_status text,
                                         OUT ret_product_id bigint, OUT ret_available integer,
                                         OUT ret_total_cents bigint, OUT ret_currency text,
                                         OUT ret_prices integer[])
LANGUAGE plpgsql AS $$
DECLARE
        n integer := cardinality(p_ids);
        taken integer := 0; -- lines whose stock is taken
        v_price integer;
        v_currency text;
        failure text;
BEGIN
        PERFORM FROM users WHERE id = p_user;
        IF NOT FOUND THEN
                ret_outcome := 'no_user';
                RETURN;
        END IF;
        ret_total_cents := 0;
        ret_prices := '{}';
        FOR i IN 1 .. n LOOP
                UPDATE products p SET stock = p.stock - p_qty[i] WHERE p.id = p_ids[i] AND p.stock >= p_qty[i]
                RETURNING p.price_cents, p.currency::text INTO v_price, v_currency;
                IF NOT FOUND THEN
                        SELECT p.stock INTO ret_available FROM products p WHERE p.id = p_ids[i];
                        failure := CASE WHEN FOUND THEN 'no_stock' ELSE 'no_product' END;
                        ret_product_id := p_ids[i];
                        EXIT;
                END IF;
                taken := i;
                IF i > 1 AND v_currency <> ret_currency THEN
                        failure := 'currency';
                        ret_product_id := NULL;
                        EXIT;
                END IF;
                ret_currency := v_currency;
                ret_prices := ret_prices || v_price;
                ret_total_cents := ret_total_cents + p_qty[i]::bigint * v_price;
        END LOOP;
        IF failure IS NULL THEN
                INSERT INTO orders (user_id, status, total_cents, currency, idempotency_key)
                VALUES (p_user, 'pending', ret_total_cents, ret_currency, p_key)
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id INTO ret_order_id;
                IF ret_order_id IS NOT NULL THEN
                        INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
                        SELECT ret_order_id, u.id, u.q, u.price FROM unnest(p_ids, p_qty, ret_prices) AS u(id, q, price);
                        ret_outcome := 'reserved';
                        ret_status := 'pending';
                        RETURN;
                END IF;
        END IF;
        -- No order made: give back what was taken, then an order with this key, if there is one, is the
        -- answer (a new statement, so a new snapshot: it sees an order committed while we waited for a
        -- product's lock). After a conflict the answer is 'exists' even if that order is gone again
        -- (compensated meanwhile): the backend then finds no order for the key and reserves afresh.
        FOR i IN 1 .. taken LOOP
                UPDATE products p SET stock = p.stock + p_qty[i] WHERE p.id = p_ids[i];
        END LOOP;
        SELECT o.id, o.status INTO ret_order_id, ret_status FROM orders o WHERE o.idempotency_key = p_key;
        IF FOUND OR failure IS NULL THEN
                ret_outcome := 'exists';
        ELSE
                ret_outcome := failure;
        END IF;
END
$$;
