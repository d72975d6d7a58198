-- Sample data, deterministic (no random()): 120 users, 1,200 products built from word lists, and 60
-- orders. Re-running is prevented by schema_migrations, not by this file.

INSERT INTO users (name, email, created_at)
SELECT first[1 + (i - 1) % array_length(first, 1)] || ' ' || last[1 + ((i - 1) * 7) % array_length(last, 1)],
       lower(first[1 + (i - 1) % array_length(first, 1)]) || '.' ||
               lower(last[1 + ((i - 1) * 7) % array_length(last, 1)]) || i || '@example.com',
       timestamptz '2024-01-01 09:00:00+00' + (i * interval '17 hours')
FROM generate_series(1, 120) AS i,
     (SELECT ARRAY['Ada', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Frances', 'Edsger',
                   'Radia', 'Alan', 'Hedy', 'Donald', 'Katherine', 'Niklaus', 'Sophie', 'Bjarne', 'Lynn',
                   'Guido', 'Annie', 'John', 'Mary', 'Tim', 'Shafi'] AS first,
             ARRAY['Lovelace', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson', 'Allen',
                   'Dijkstra', 'Perlman', 'Turing', 'Lamarr', 'Knuth', 'Johnson', 'Wirth', 'Wilson',
                   'Stroustrup', 'Conway', 'Rossum', 'Easley', 'Backus', 'Keller', 'Berners-Lee',
                   'Goldwasser', 'Kernighan', 'Cerf', 'Kahn', 'Lamport', 'Milner'] AS last) AS w;

-- Names: adjective x material x noun (20 x 10 x 25 = 5,000 combinations); j = i * 2731 mod 5000 is a
-- bijection (2731 is coprime with 5000), which spreads consecutive ids over different words while
-- keeping every name unique.
INSERT INTO products (sku, name, description, price_cents, currency, stock)
SELECT 'OTD-' || lpad(i::text, 5, '0'),
       adj[1 + j % 20] || ' ' || mat[1 + (j / 20) % 10] || ' ' || noun[1 + (j / 200) % 25],
       adj[1 + j % 20] || ' ' || lower(noun[1 + (j / 200) % 25]) || ' in ' || lower(mat[1 + (j / 20) % 10]) ||
               ', from our ' || cat[1 + i % 6] || ' range.',
       -- prices between 4.49 and ~254, ending in 99 or 49 like real price tags
       (((i * 7919) % 250) + 4) * 100 + CASE WHEN i % 3 = 0 THEN 49 ELSE 99 END,
       'USD',
       -- mostly in stock, a few sold out, a few plentiful
       CASE WHEN i % 97 = 0 THEN 0 WHEN i % 11 = 0 THEN 500 + i % 300 ELSE 5 + (i * 37) % 120 END
FROM (SELECT i, (i * 2731) % 5000 AS j FROM generate_series(1, 1200) AS i) AS n,
     (SELECT ARRAY['Classic', 'Compact', 'Deluxe', 'Ergonomic', 'Foldable', 'Handcrafted', 'Lightweight',
                   'Modern', 'Portable', 'Premium', 'Rugged', 'Sleek', 'Smart', 'Vintage', 'Waterproof',
                   'Wireless', 'Eco', 'Heavy-Duty', 'Minimalist', 'Adjustable'] AS adj,
             ARRAY['Aluminium', 'Bamboo', 'Canvas', 'Ceramic', 'Cotton', 'Leather', 'Oak', 'Steel',
                   'Walnut', 'Wool'] AS mat,
             ARRAY['Backpack', 'Telescope', 'Desk Lamp', 'Coffee Mug', 'Notebook', 'Water Bottle',
                   'Headphones', 'Binoculars', 'Chair', 'Keyboard', 'Tent', 'Watch', 'Sunglasses',
                   'Camera Strap', 'Bookshelf', 'Teapot', 'Cutting Board', 'Wallet', 'Blanket',
                   'Phone Stand', 'Lantern', 'Tripod', 'Planter', 'Speaker', 'Yoga Mat'] AS noun,
             ARRAY['home', 'outdoor', 'office', 'travel', 'kitchen', 'astronomy'] AS cat) AS w;

-- 60 historical orders of one to three items each; stock is not decremented for history.
INSERT INTO orders (user_id, status, total_cents, currency, created_at)
SELECT 1 + (i * 13) % 120, 'paid', 0, 'USD', timestamptz '2024-06-01 10:00:00+00' + (i * interval '9 hours')
FROM generate_series(1, 60) AS i;

INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
SELECT o.id, p.id, 1 + (o.id + k) % 3, p.price_cents
FROM orders o
CROSS JOIN generate_series(0, 2) AS k
JOIN products p ON p.id = 1 + (o.id * 31 + k * 401) % 1200
WHERE k < 1 + o.id % 3;

UPDATE orders o SET total_cents = s.total
FROM (SELECT order_id, sum(quantity * unit_price_cents) AS total FROM order_items GROUP BY order_id) s
WHERE s.order_id = o.id;
