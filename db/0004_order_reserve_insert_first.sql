-- order_reserve without the look-up of the Idempotency-Key before the insert: on the path of every new
-- order the unique index on orders.idempotency_key alone decides (INSERT ... ON CONFLICT DO NOTHING),
-- and the key is looked up only when that insert found an order or the order cannot be made. One
-- statement (an index probe of orders) fewer per order, same outcomes as 0003_order_flow.sql:
-- 'reserved', 'exists' (which wins over a failure: a concurrent request with the same key may have
-- committed while we waited for the product locks), 'no_user', 'no_product', 'currency', 'no_stock'.
CREATE OR REPLACE FUNCTION order_reserve(p_user bigint, p_key text, p_ids bigint[], p_qty integer[],
                                         OUT ret_outcome text, OUT ret_order_id bigint, OUT ret_status text,
                                         OUT ret_product_id bigint, OUT ret_available integer,
                                         OUT ret_total_cents bigint, OUT ret_currency text,
                                         OUT ret_prices integer[])
LANGUAGE plpgsql AS $$
DECLARE
        r record;
        i integer := 0;
        failure text;
BEGIN
        PERFORM FROM users WHERE id = p_user;
        IF NOT FOUND THEN
                ret_outcome := 'no_user';
                RETURN;
        END IF;
        ret_total_cents := 0;
        ret_prices := '{}';
        -- Row locks in id order (LockRows runs above the sort): concurrent orders cannot deadlock. The
        -- first failure is only noted: an order with this key, if there is one, is the answer.
        FOR r IN SELECT p.id, p.price_cents, p.currency::text AS currency, p.stock FROM products p
                 WHERE p.id = ANY (p_ids) ORDER BY p.id FOR UPDATE LOOP
                i := i + 1;
                IF failure IS NOT NULL THEN
                        CONTINUE;
                ELSIF r.id <> p_ids[i] THEN
                        failure := 'no_product';
                        ret_product_id := p_ids[i];
                ELSIF i > 1 AND r.currency <> ret_currency THEN
                        failure := 'currency';
                ELSIF r.stock < p_qty[i] THEN
                        failure := 'no_stock';
                        ret_product_id := r.id;
                        ret_available := r.stock;
                ELSE
                        ret_currency := r.currency;
                        ret_prices := ret_prices || r.price_cents;
                        ret_total_cents := ret_total_cents + p_qty[i]::bigint * r.price_cents;
                END IF;
        END LOOP;
        IF failure IS NULL AND i < cardinality(p_ids) THEN
                failure := 'no_product';
                ret_product_id := p_ids[i + 1];
        END IF;
        IF failure IS NULL THEN
                -- A concurrent insert with the same key waits here for the other transaction; an order
                -- with this key (committed before, or by that transaction) makes DO NOTHING return no row.
                INSERT INTO orders (user_id, status, total_cents, currency, idempotency_key)
                VALUES (p_user, 'pending', ret_total_cents, ret_currency, p_key)
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id INTO ret_order_id;
                IF ret_order_id IS NOT NULL THEN
                        UPDATE products p SET stock = p.stock - u.q FROM unnest(p_ids, p_qty) AS u(id, q)
                        WHERE p.id = u.id;
                        INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
                        SELECT ret_order_id, u.id, u.q, u.price FROM unnest(p_ids, p_qty, ret_prices) AS u(id, q, price);
                        ret_outcome := 'reserved';
                        ret_status := 'pending';
                        RETURN;
                END IF;
        END IF;
        -- A new statement, so a new snapshot: it sees an order committed while we waited above. After a
        -- conflict the answer is 'exists' even if that order is gone again (compensated meanwhile): the
        -- backend then finds no order for the key and reserves afresh.
        SELECT o.id, o.status INTO ret_order_id, ret_status FROM orders o WHERE o.idempotency_key = p_key;
        IF FOUND OR failure IS NULL THEN
                ret_outcome := 'exists';
        ELSE
                ret_outcome := failure;
        END IF;
END
$$;
