-- Orders in three steps, so that no transaction (and no row lock) is held across the payment call:
--   order_reserve  one statement: lock the products in id order, check them, create the order as
--                  'pending' with its items and decrement the stock;
--   (the backend authorises the payment, outside any transaction)
--   then one UPDATE (a prepared statement of the backend): 'pending' → 'paid';
--   order_cancel   one statement, the compensation of a failed payment: stock restored, order (and its
--                  items) deleted, so that its Idempotency-Key is free again, as for any failed order.
-- Each step is one round trip and runs as its own transaction.

-- ret_outcome: 'reserved' (ret_order_id, ret_total_cents, ret_currency, ret_prices in p_ids order),
-- 'exists' (an order with p_key exists: ret_order_id, ret_status), 'no_user', 'no_product'
-- (ret_product_id), 'currency' (products of different currencies), 'no_stock' (ret_product_id,
-- ret_available). p_ids must be sorted ascending and unique (the backend sorts the lines); p_key may be
-- NULL (then the order is never 'exists').
CREATE FUNCTION order_reserve(p_user bigint, p_key text, p_ids bigint[], p_qty integer[],
                              OUT ret_outcome text, OUT ret_order_id bigint, OUT ret_status text,
                              OUT ret_product_id bigint, OUT ret_available integer,
                              OUT ret_total_cents bigint, OUT ret_currency text, OUT ret_prices integer[])
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
        -- first failure is only noted: a concurrent request with the same key may have committed while
        -- we waited for these locks, and then its order is the answer, not this failure.
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
        -- A new statement, so a new snapshot: it sees an order committed while we waited above.
        SELECT o.id, o.status INTO ret_order_id, ret_status FROM orders o WHERE o.idempotency_key = p_key;
        IF FOUND THEN
                ret_outcome := 'exists';
                RETURN;
        END IF;
        IF failure IS NOT NULL THEN
                ret_outcome := failure;
                RETURN;
        END IF;
        -- A concurrent insert with the same key waits here for the other transaction; if that one
        -- commits, DO NOTHING returns no row and its order is the answer.
        INSERT INTO orders (user_id, status, total_cents, currency, idempotency_key)
        VALUES (p_user, 'pending', ret_total_cents, ret_currency, p_key)
        ON CONFLICT (idempotency_key) DO NOTHING RETURNING id INTO ret_order_id;
        IF ret_order_id IS NULL THEN
                SELECT o.id, o.status INTO ret_order_id, ret_status FROM orders o WHERE o.idempotency_key = p_key;
                ret_outcome := 'exists';
                RETURN;
        END IF;
        UPDATE products p SET stock = p.stock - u.q FROM unnest(p_ids, p_qty) AS u(id, q) WHERE p.id = u.id;
        INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
        SELECT ret_order_id, u.id, u.q, u.price FROM unnest(p_ids, p_qty, ret_prices) AS u(id, q, price);
        ret_outcome := 'reserved';
        ret_status := 'pending';
END
$$;

-- Compensation of a failed payment: the stock of a pending order's items is given back and the order
-- deleted (its items go with it, ON DELETE CASCADE). Products are locked in id order, as in
-- order_reserve. Returns true when a pending order was cancelled.
CREATE FUNCTION order_cancel(p_order bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
        PERFORM FROM orders WHERE id = p_order AND status = 'pending' FOR UPDATE;
        IF NOT FOUND THEN
                RETURN false;
        END IF;
        PERFORM FROM products p WHERE p.id IN (SELECT product_id FROM order_items WHERE order_id = p_order)
        ORDER BY p.id FOR UPDATE;
        UPDATE products p SET stock = p.stock + i.quantity FROM order_items i
        WHERE i.order_id = p_order AND p.id = i.product_id;
        DELETE FROM orders WHERE id = p_order;
        RETURN true;
END
$$;
