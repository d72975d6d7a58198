// SPDX-License-Identifier: Apache-2.0
// The oteldemo shop UI: a small hash-routed page over the frontend's /api/* proxy. Every API call
// starts a new W3C trace here in the browser (a fresh traceparent), so one click is one trace from
// the browser to PostgreSQL; the footer shows its id. Text from the API only ever reaches the page
// through text nodes (never innerHTML), which is what keeps product names and error messages inert.
'use strict';

(function () {
        const PAGE_SIZE = 12;
        const USERS_LIMIT = 200; // the backend's maximum page; the sample data has 120 users
        const QUANTITY_MAX = 1000; // the backend's limit per order line
        const LOW_STOCK = 10;
        const USER_KEY = 'oteldemo.userId';

        const main = document.getElementById('main');
        const searchForm = document.getElementById('search-form');
        const searchInput = document.getElementById('search-input');
        const traceCall = document.getElementById('trace-call');
        const traceIdNode = document.getElementById('trace-id');
        const jaegerLink = document.getElementById('jaeger-link');
        const traceViewLink = document.getElementById('trace-view-link');
        const PRODUCT_NAMES_MAX = 50; // product names looked up for one order history page

        const state = {
                jaegerUrl: null, // from /ui-config.json; null when not configured
                users: null, // cached /api/users items
                productNames: new Map(), // product id → name, for the order history
                routeSeq: 0, // bumped per navigation so that a slow, stale reply does not render
        };

        // ---- tracing -----------------------------------------------------------------------------

        function randomHex(nBytes) {
                const bytes = new Uint8Array(nBytes);
                crypto.getRandomValues(bytes);
                return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
        }

        // W3C Trace Context: version 00, random ids (all-zero ids are invalid), sampled.
        function newTraceparent() {
                let traceId;
                let spanId;
                do {
                        traceId = randomHex(16);
                } while (/^0+$/.test(traceId));
                do {
                        spanId = randomHex(8);
                } while (/^0+$/.test(spanId));
                return { traceId, header: `00-${traceId}-${spanId}-01` };
        }

        function showTrace(method, path, status, traceId) {
                traceCall.textContent = `${method} ${path} → ${status}`;
                traceIdNode.textContent = traceId;
                traceIdNode.dataset.status = String(status);
                traceViewLink.href = `#/trace/${traceId}`;
                traceViewLink.hidden = false;
                if (state.jaegerUrl) {
                        jaegerLink.href = `${state.jaegerUrl}/trace/${traceId}`;
                        jaegerLink.hidden = false;
                }
        }

        // ---- API -----------------------------------------------------------------------------------

        class ApiError extends Error {
                constructor(status, message, traceId) {
                        super(message);
                        this.status = status; // 0 = no answer at all
                        this.traceId = traceId;
                }
        }

        async function api(method, path, body, extraHeaders) {
                const tp = newTraceparent();
                const headers = Object.assign({ Accept: 'application/json', traceparent: tp.header }, extraHeaders);
                const init = { method, headers, cache: 'no-store' };
                if (body !== undefined) {
                        headers['Content-Type'] = 'application/json';
                        init.body = JSON.stringify(body);
                }
                let resp;
                try {
                        resp = await fetch(path, init);
                } catch (e) {
                        showTrace(method, path, 'no answer', tp.traceId);
                        throw new ApiError(0, 'The shop cannot be reached. Check your connection and try again.',
                                tp.traceId);
                }
                let data = null;
                try {
                        data = await resp.json();
                } catch (e) {
                        data = null;
                }
                showTrace(method, path, resp.status, tp.traceId);
                if (!resp.ok) {
                        const message = data && typeof data.error === 'string' && data.error
                                ? data.error : `The request failed (HTTP ${resp.status}).`;
                        throw new ApiError(resp.status, message, tp.traceId);
                }
                return { status: resp.status, data, traceId: tp.traceId };
        }

        async function loadUsers() {
                if (!state.users) {
                        const res = await api('GET', `/api/users?limit=${USERS_LIMIT}&offset=0`);
                        state.users = Array.isArray(res.data.items) ? res.data.items : [];
                }
                return state.users;
        }

        // ---- DOM helpers ---------------------------------------------------------------------------

        // Builds an element; string children become text nodes, so API data is never parsed as HTML.
        function el(tag, props, ...children) {
                const node = document.createElement(tag);
                for (const [key, value] of Object.entries(props || {})) {
                        if (value === undefined || value === null || value === false) {
                                continue;
                        }
                        if (key === 'class') {
                                node.className = value;
                        } else if (key.startsWith('on')) {
                                node.addEventListener(key.slice(2), value);
                        } else if (key === 'style') {
                                for (const [prop, v] of Object.entries(value)) {
                                        node.style.setProperty(prop, v);
                                }
                        } else {
                                node.setAttribute(key, value === true ? '' : String(value));
                        }
                }
                for (const child of children.flat(Infinity)) {
                        if (child === null || child === undefined || child === false) {
                                continue;
                        }
                        node.append(child instanceof Node ? child : String(child));
                }
                return node;
        }

        // Nodes, or (nested) arrays of them; null/undefined/false are skipped, like el()'s children.
        function setMain(...nodes) {
                main.replaceChildren(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false));
        }

        // Ids go into URLs: only positive integers, whatever the API sends.
        function safeId(value) {
                const n = Number(value);
                return Number.isSafeInteger(n) && n > 0 ? n : 0;
        }

        const moneyFormats = new Map();
        function money(cents, currency) {
                const code = typeof currency === 'string' && /^[A-Z]{3}$/.test(currency) ? currency : 'USD';
                if (!moneyFormats.has(code)) {
                        moneyFormats.set(code, new Intl.NumberFormat(undefined, { style: 'currency', currency: code }));
                }
                return moneyFormats.get(code).format((Number(cents) || 0) / 100);
        }

        function when(timestamp) {
                const d = new Date(timestamp);
                return Number.isNaN(d.getTime()) ? String(timestamp) : d.toLocaleString();
        }

        function initials(name) {
                return String(name).split(/\s+/).filter(Boolean).slice(-2).map((w) => w[0]).join('').toUpperCase();
        }

        function thumb(product, large) {
                return el('div', {
                        class: large ? 'thumb large' : 'thumb',
                        style: { '--hue': String((safeId(product.id) * 47) % 360) },
                        'aria-hidden': 'true',
                }, initials(product.name || '?'));
        }

        function stockLabel(stock) {
                const n = Number(stock) || 0;
                if (n <= 0) {
                        return el('span', { class: 'stock out' }, 'Sold out');
                }
                if (n < LOW_STOCK) {
                        return el('span', { class: 'stock low' }, `Only ${n} left`);
                }
                return el('span', { class: 'stock in' }, `In stock (${n})`);
        }

        function notice(kind, message, error) {
                const detail = error
                        ? el('span', { class: 'detail' },
                                (error.status ? `HTTP ${error.status} · ` : '') + `trace ${error.traceId}`)
                        : null;
                return el('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status',
                        'data-testid': `notice-${kind}` }, message, detail);
        }

        // The page shown when a whole view could not load; friendlier when the backend is down.
        function errorPage(error) {
                let title = 'Something went wrong';
                let hint = 'Please try again.';
                if (error.status === 0 || error.status === 502 || error.status === 503 || error.status === 504) {
                        title = 'The shop is taking a short break';
                        hint = 'Our backend is not answering right now. Please try again in a moment.';
                } else if (error.status === 404) {
                        title = 'Not found';
                        hint = 'It may have been removed, or the link is wrong.';
                }
                return el('section', { class: 'panel', 'data-testid': 'error-page' },
                        el('h1', null, title),
                        el('p', null, hint),
                        notice('error', error.message, error),
                        el('p', null,
                                el('button', { type: 'button', onclick: () => route() }, 'Try again'), ' ',
                                el('a', { href: '#/' }, 'Back to the catalogue')));
        }

        // ---- views ---------------------------------------------------------------------------------

        function productCard(product) {
                const id = safeId(product.id);
                return el('a', { class: 'card', href: `#/product/${id}`, 'data-testid': 'product-card' },
                        thumb(product, false),
                        el('div', { class: 'card-body' },
                                el('span', { class: 'card-name' }, product.name),
                                stockLabel(product.stock),
                                el('span', { class: 'card-price' }, money(product.price_cents, product.currency))));
        }

        function catalogueHref(q, page) {
                const params = new URLSearchParams();
                if (q) {
                        params.set('q', q);
                }
                if (page > 1) {
                        params.set('page', String(page));
                }
                const qs = params.toString();
                return qs ? `#/?${qs}` : '#/';
        }

        /* The common start of a page: a loading line, then load(); resolves to its result, or to
         * undefined when it failed (the error page is shown) or the user has moved on meanwhile. */
        async function loadForRoute(loading, load, seq) {
                setMain(el('p', { class: 'loading' }, loading));
                let result;
                try {
                        result = await load();
                } catch (e) {
                        if (seq === state.routeSeq) {
                                setMain(errorPage(e));
                        }
                        return undefined;
                }
                return seq === state.routeSeq ? result : undefined;
        }

        async function renderCatalogue(params, seq) {
                const q = (params.get('q') || '').trim();
                const page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
                searchInput.value = q;
                let query = `/api/products?limit=${PAGE_SIZE}&offset=${(page - 1) * PAGE_SIZE}`;
                if (q) {
                        query += `&q=${encodeURIComponent(q)}`;
                }
                const res = await loadForRoute('Loading products…', () => api('GET', query), seq);
                if (res === undefined) {
                        return;
                }
                const items = Array.isArray(res.data.items) ? res.data.items : [];
                const total = Number(res.data.total) || 0;
                const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
                const heading = q ? `Results for “${q}”` : 'All products';
                const count = `${total} product${total === 1 ? '' : 's'}`;
                const body = items.length
                        ? el('div', { class: 'grid', 'data-testid': 'product-grid' }, items.map(productCard))
                        : el('p', { class: 'panel', 'data-testid': 'no-results' },
                                q ? `No products match “${q}”.` : 'The catalogue is empty.');
                const pager = pages > 1
                        ? el('nav', { class: 'pager', 'aria-label': 'Pages' },
                                page > 1 ? el('a', { class: 'button', href: catalogueHref(q, page - 1),
                                        'data-testid': 'prev-page' }, '← Previous') : null,
                                el('span', { 'data-testid': 'page-info' }, `Page ${page} of ${pages}`),
                                page < pages ? el('a', { class: 'button', href: catalogueHref(q, page + 1),
                                        'data-testid': 'next-page' }, 'Next →') : null)
                        : null;
                setMain(el('div', { class: 'toolbar' },
                        el('h1', null, heading),
                        el('span', { class: 'muted', 'data-testid': 'result-count' }, count)),
                body, pager);
        }

        function userOption(user, selectedId) {
                const id = safeId(user.id);
                return el('option', { value: id, selected: id === selectedId }, `${user.name} <${user.email}>`);
        }

        function rememberedUser() {
                try {
                        return safeId(localStorage.getItem(USER_KEY));
                } catch (e) {
                        return 0;
                }
        }

        function rememberUser(id) {
                try {
                        localStorage.setItem(USER_KEY, String(id));
                } catch (e) {
                        // storage disabled: the choice just isn't remembered
                }
        }

        function orderForm(product) {
                const productId = safeId(product.id);
                const status = el('div', { 'data-testid': 'order-status', 'aria-live': 'polite' });
                const userSelect = el('select', { name: 'user', required: true, 'data-testid': 'user-select' },
                        el('option', { value: '' }, 'Loading customers…'));
                // The stock may change under us: the API has the last word (and a clear message) on it.
                const quantity = el('input', { name: 'quantity', type: 'number', min: 1, max: QUANTITY_MAX, value: 1,
                        required: true, 'data-testid': 'quantity' });
                const submit = el('button', { type: 'submit', 'data-testid': 'place-order' }, 'Place order');
                const stockNode = el('p', null, stockLabel(product.stock));
                // One key per distinct order attempt: a retried or double-clicked submit cannot order twice.
                let idempotencyKey = null;

                const form = el('form', { class: 'order-form panel', 'data-testid': 'order-form' },
                        el('h2', null, 'Order'),
                        stockNode,
                        el('div', { class: 'row' },
                                el('label', null, 'Customer', userSelect),
                                el('label', null, 'Quantity', quantity)),
                        el('div', null, submit),
                        status);
                form.addEventListener('input', () => {
                        idempotencyKey = null;
                });
                form.addEventListener('submit', async (ev) => {
                        ev.preventDefault();
                        const userId = safeId(userSelect.value);
                        const qty = parseInt(quantity.value, 10);
                        if (!userId) {
                                status.replaceChildren(notice('error', 'Please pick a customer.'));
                                return;
                        }
                        if (!Number.isInteger(qty) || qty < 1 || qty > QUANTITY_MAX) {
                                status.replaceChildren(notice('error', `Quantity must be between 1 and ${QUANTITY_MAX}.`));
                                return;
                        }
                        rememberUser(userId);
                        idempotencyKey = idempotencyKey || randomHex(16);
                        submit.disabled = true;
                        submit.textContent = 'Placing order…';
                        try {
                                const res = await api('POST', '/api/orders',
                                        { user_id: userId, product_id: productId, quantity: qty },
                                        { 'Idempotency-Key': idempotencyKey });
                                idempotencyKey = null;
                                const order = res.data || {};
                                const orderId = safeId(order.id);
                                product.stock = Math.max(0, (Number(product.stock) || 0) - qty);
                                stockNode.replaceChildren(stockLabel(product.stock));
                                status.replaceChildren(el('div', { class: 'notice notice-ok', role: 'status',
                                        'data-testid': 'notice-ok' },
                                        `Thank you! Order #${orderId} is placed: ${qty} × ${product.name}, total `
                                                + `${money(order.total_cents, order.currency)}.`,
                                        el('span', { class: 'detail' },
                                                el('a', { href: `#/order/${orderId}` }, 'View the order'), ' · ',
                                                el('a', { href: `#/orders?user=${userId}` }, 'Order history'),
                                                ` · trace ${res.traceId}`)));
                        } catch (e) {
                                status.replaceChildren(notice('error', `Your order was not placed: ${e.message}`, e));
                        } finally {
                                submit.disabled = false;
                                submit.textContent = 'Place order';
                        }
                });

                loadUsers().then((users) => {
                        const selected = rememberedUser();
                        userSelect.replaceChildren(el('option', { value: '' }, 'Choose a customer…'),
                                ...users.map((u) => userOption(u, selected)));
                }, (e) => {
                        userSelect.replaceChildren(el('option', { value: '' }, 'Customers unavailable'));
                        status.replaceChildren(notice('error', `Could not load the customers: ${e.message}`, e));
                });
                return form;
        }

        async function renderProduct(id, seq) {
                const res = await loadForRoute('Loading product…', () => api('GET', `/api/products/${id}`), seq);
                if (res === undefined) {
                        return;
                }
                const p = res.data || {};
                setMain(
                        el('nav', { class: 'breadcrumb' }, el('a', { href: '#/' }, '← All products')),
                        el('article', { class: 'product', 'data-testid': 'product-page' },
                                thumb(p, true),
                                el('div', { class: 'product-info' },
                                        el('h1', { 'data-testid': 'product-name' }, p.name),
                                        el('span', { class: 'sku' }, `SKU ${p.sku}`),
                                        el('span', { class: 'price' }, money(p.price_cents, p.currency)),
                                        el('p', { 'data-testid': 'product-description' }, p.description),
                                        orderForm(p))));
        }

        function orderPanel(order) {
                const items = Array.isArray(order.items) ? order.items : [];
                return el('article', { class: 'panel', 'data-testid': 'order' },
                        el('div', { class: 'order-head' },
                                el('strong', null, `Order #${safeId(order.id)}`),
                                el('span', { class: 'badge' }, order.status),
                                el('span', { class: 'muted' }, when(order.created_at)),
                                el('strong', null, money(order.total_cents, order.currency))),
                        el('ul', { class: 'order-items' }, items.map((item) => {
                                const pid = safeId(item.product_id);
                                const name = state.productNames.get(pid);
                                return el('li', null, `${Number(item.quantity) || 0} × `,
                                        el('a', { href: `#/product/${pid}`, 'data-testid': 'order-item-product' },
                                                name || `product #${pid}`),
                                        ` at ${money(item.unit_price_cents, order.currency)}`);
                        })));
        }

        /* Looks up the names of the products in orders that are not known yet (one GET each, at most
         * PRODUCT_NAMES_MAX, in parallel); a product that cannot be read keeps its number. */
        async function loadProductNames(orders) {
                const wanted = new Set();
                for (const order of orders) {
                        for (const item of Array.isArray(order.items) ? order.items : []) {
                                const pid = safeId(item.product_id);
                                if (pid && !state.productNames.has(pid) && wanted.size < PRODUCT_NAMES_MAX) {
                                        wanted.add(pid);
                                }
                        }
                }
                await Promise.all([...wanted].map(async (pid) => {
                        try {
                                const res = await api('GET', `/api/products/${pid}`);
                                if (res.data && typeof res.data.name === 'string') {
                                        state.productNames.set(pid, res.data.name);
                                }
                        } catch (e) {
                                // shown as "product #id"
                        }
                }));
        }

        async function renderOrders(params, seq) {
                const userId = safeId(params.get('user')) || rememberedUser();
                const users = await loadForRoute('Loading customers…', () => loadUsers(), seq);
                if (users === undefined) {
                        return;
                }
                const select = el('select', { 'data-testid': 'history-user-select', 'aria-label': 'Customer' },
                        el('option', { value: '' }, 'Choose a customer…'), users.map((u) => userOption(u, userId)));
                select.addEventListener('change', () => {
                        const id = safeId(select.value);
                        if (id) {
                                rememberUser(id);
                                location.hash = `#/orders?user=${id}`;
                        }
                });
                const list = el('div', { class: 'orders', 'data-testid': 'order-list' });
                setMain(el('div', { class: 'toolbar' }, el('h1', null, 'Order history'), select), list);
                if (!userId) {
                        list.replaceChildren(el('p', { class: 'muted' }, 'Pick a customer to see their orders.'));
                        return;
                }
                list.replaceChildren(el('p', { class: 'loading' }, 'Loading orders…'));
                let res;
                try {
                        res = await api('GET', `/api/users/${userId}/orders`);
                } catch (e) {
                        if (seq === state.routeSeq) {
                                list.replaceChildren(notice('error', `Could not load the orders: ${e.message}`, e));
                        }
                        return;
                }
                if (seq !== state.routeSeq) {
                        return;
                }
                const orders = Array.isArray(res.data.items) ? res.data.items : [];
                await loadProductNames(orders);
                if (seq !== state.routeSeq) {
                        return;
                }
                list.replaceChildren(...(orders.length ? orders.map(orderPanel)
                        : [el('p', { class: 'panel muted', 'data-testid': 'no-orders' }, 'No orders yet.')]));
        }

        async function renderOrder(id, seq) {
                const res = await loadForRoute('Loading order…', () => api('GET', `/api/orders/${id}`), seq);
                if (res === undefined) {
                        return;
                }
                const order = res.data || {};
                await loadProductNames([order]);
                if (seq !== state.routeSeq) {
                        return;
                }
                setMain(el('nav', { class: 'breadcrumb' },
                        el('a', { href: `#/orders?user=${safeId(order.user_id)}` }, '← Order history')),
                el('h1', null, `Order #${safeId(order.id)}`), orderPanel(order));
        }

        // ---- tracez: the daemons' recent spans, and one trace as a waterfall -------------------------

        const TRACE_ID_RE = /^[0-9a-f]{32}$/;
        const SERVICES = [
                { role: 'frontend', label: 'oteldemo-frontend', tracez: '/debug/tracez?format=json' },
                { role: 'backend', label: 'oteldemo-backend', tracez: '/debug/backend/tracez?' },
        ];

        // The debug endpoints are not part of the shop's API: plain fetches, no trace of their own.
        async function debugJson(path) {
                let resp;
                try {
                        resp = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
                } catch (e) {
                        throw new ApiError(0, 'The frontend cannot be reached.', '–');
                }
                const data = await resp.json().catch(() => null);
                if (!resp.ok) {
                        throw new ApiError(resp.status, data && data.error ? data.error : `HTTP ${resp.status}`,
                                (data && data.trace_id) || '–');
                }
                return data;
        }

        function ms(ns) {
                const v = Number(ns) / 1e6;
                return v >= 100 ? `${v.toFixed(0)} ms` : v >= 1 ? `${v.toFixed(2)} ms` : `${v.toFixed(3)} ms`;
        }

        function traceLink(traceId) {
                const id = TRACE_ID_RE.test(traceId) ? traceId : '';
                return el('a', { href: `#/trace/${id}`, 'data-testid': 'trace-link' }, el('code', null, id));
        }

        function attributeList(attrs) {
                return el('dl', { class: 'attrs' }, Object.entries(attrs || {}).map(([k, v]) => [
                        el('dt', null, k), el('dd', null, String(v))]));
        }

        function tracezTable(service, data) {
                const buckets = Array.isArray(data.buckets) ? data.buckets : [];
                const spans = Array.isArray(data.spans) ? data.spans : [];
                const head = el('tr', null, el('th', null, 'Span name'), el('th', null, 'Running'),
                        buckets.map((b) => el('th', null, String(b.label))), el('th', null, 'Errors'));
                const link = (name, bucket, count) => (count > 0
                        ? el('a', { href: `#/tracez?${new URLSearchParams({ service: service.role, name,
                                bucket })}` }, String(count)) : '0');
                const rows = spans.map((sp) => el('tr', { 'data-testid': 'tracez-row' },
                        el('td', null, el('a', { href: `#/tracez?${new URLSearchParams({ service: service.role,
                                name: sp.name })}` }, sp.name)),
                        el('td', null, String(sp.running)),
                        (Array.isArray(sp.latency) ? sp.latency : []).map((n, i) => el('td', null,
                                link(sp.name, String(i), n))),
                        el('td', null, link(sp.name, 'error', sp.errors))));
                return el('section', { class: 'panel tracez', 'data-testid': `tracez-${service.role}` },
                        el('h2', null, service.label),
                        el('div', { class: 'table-scroll' }, el('table', null, el('thead', null, head),
                                el('tbody', null, rows))));
        }

        function samplesTable(samples) {
                return el('div', { class: 'table-scroll' }, el('table', { 'data-testid': 'tracez-samples' },
                        el('thead', null, el('tr', null, ['Span name', 'Start (UTC)', 'Duration', 'Status',
                                'Trace', 'Attributes'].map((h) => el('th', null, h)))),
                        el('tbody', null, samples.map((smp) => el('tr', { 'data-testid': 'tracez-sample' },
                                el('td', null, smp.name),
                                el('td', null, smp.start_time),
                                el('td', null, ms(smp.duration_ns)),
                                el('td', null, smp.status + (smp.status_message ? `: ${smp.status_message}` : '')),
                                el('td', null, traceLink(smp.trace_id)),
                                el('td', null, attributeList(smp.attributes)))))));
        }

        async function renderTracez(params, seq) {
                const name = params.get('name') || '';
                const bucket = params.get('bucket') || '';
                const only = SERVICES.find((sv) => sv.role === params.get('service'));
                const query = new URLSearchParams();
                if (name) {
                        query.set('name', name);
                }
                if (bucket) {
                        query.set('bucket', bucket);
                }
                const shown = only ? [only] : SERVICES;
                const results = await loadForRoute('Loading tracez…', () => Promise.all(shown.map((sv) =>
                        debugJson(`${sv.tracez}&${query}`).then((data) => ({ sv, data }),
                                (e) => ({ sv, error: e })))), seq);
                if (results === undefined) {
                        return;
                }
                const parts = results.map(({ sv, data, error }) => (error
                        ? el('section', { class: 'panel' }, el('h2', null, sv.label),
                                notice('error', `tracez is not available: ${error.message}`))
                        : [tracezTable(sv, data), Array.isArray(data.samples)
                                ? el('section', { class: 'panel' }, el('h2', null, `Samples: ${name || 'all names'}`
                                        + (bucket ? `, bucket ${bucket}` : '')), samplesTable(data.samples))
                                : null]));
                setMain(el('div', { class: 'toolbar' }, el('h1', null, 'tracez'),
                        el('span', { class: 'muted' }, 'Recent spans of the frontend and the backend, kept in '
                                + 'memory by each daemon: no tracing backend needed.')),
                (name || bucket || only) ? el('p', null, el('a', { href: '#/tracez' }, '← All span names')) : null,
                parts);
        }

        /* The spans of both daemons as one tree: children under their parent (by parent_span_id),
         * siblings by start time; spans whose parent is not here (the browser's, or one tracez did not
         * keep) are roots. Returns [{span, depth}] in display order. */
        function spanTree(spans) {
                const byId = new Map(spans.map((sp) => [sp.span_id, sp]));
                const children = new Map();
                const roots = [];
                for (const sp of spans) {
                        const parent = sp.parent_span_id && byId.has(sp.parent_span_id) ? sp.parent_span_id : null;
                        if (parent === null) {
                                roots.push(sp);
                        } else {
                                if (!children.has(parent)) {
                                        children.set(parent, []);
                                }
                                children.get(parent).push(sp);
                        }
                }
                const byStart = (a, b) => a.start - b.start;
                const out = [];
                const walk = (sp, depth) => {
                        out.push({ span: sp, depth });
                        for (const child of (children.get(sp.span_id) || []).sort(byStart)) {
                                walk(child, depth + 1);
                        }
                };
                roots.sort(byStart).forEach((sp) => walk(sp, 0));
                return out;
        }

        async function renderTrace(traceId, seq) {
                const data = await loadForRoute('Loading the trace…', () => debugJson(`/debug/trace/${traceId}`), seq);
                if (data === undefined) {
                        return;
                }
                const spans = [];
                const problems = [];
                for (const svc of Array.isArray(data.services) ? data.services : []) {
                        if (svc.error) {
                                problems.push(notice('error', `${svc.service}: ${svc.error}`));
                        }
                        for (const smp of Array.isArray(svc.samples) ? svc.samples : []) {
                                spans.push(Object.assign({}, smp, { service: String(svc.service),
                                        start: Number(smp.start_unix_nano), duration: Number(smp.duration_ns) }));
                        }
                }
                const head = [el('nav', { class: 'breadcrumb' }, el('a', { href: '#/tracez' }, '← tracez')),
                        el('h1', null, 'Trace ', el('code', { 'data-testid': 'trace-id' }, traceId)), problems];
                if (!spans.length) {
                        setMain(head, el('p', { class: 'panel muted', 'data-testid': 'trace-empty' },
                                'Neither daemon kept a span of this trace (tracez keeps a few recent samples per '
                                + 'span name and latency bucket).'));
                        return;
                }
                const t0 = Math.min(...spans.map((sp) => sp.start));
                const total = Math.max(...spans.map((sp) => sp.start + sp.duration)) - t0 || 1;
                const rows = spanTree(spans).map(({ span, depth }) => {
                        const left = ((span.start - t0) / total) * 100;
                        const width = Math.max((span.duration / total) * 100, 0.3);
                        return el('details', {
                                class: `span-row ${span.service}${span.status === 'ERROR' ? ' error' : ''}`,
                                'data-testid': 'span-row', 'data-service': span.service, 'data-name': span.name,
                                'data-span-id': span.span_id, 'data-parent-id': span.parent_span_id || '',
                                'data-depth': String(depth), 'data-kind': span.kind,
                        }, el('summary', null,
                                el('span', { class: 'span-label', style: { '--depth': String(depth) } },
                                        el('span', { class: 'span-service' }, span.service), ' ',
                                        el('span', { class: 'span-name' }, span.name)),
                                el('span', { class: 'span-track' },
                                        el('span', { class: 'span-bar', style: { left: `${left}%`, width: `${width}%` } })),
                                el('span', { class: 'span-duration' }, ms(span.duration))),
                        el('div', { class: 'span-detail' },
                                el('p', { class: 'muted' }, `${span.kind} · started ${span.start_time} · `
                                        + `+${ms(span.start - t0)} · ${span.status}`
                                        + (span.status_message ? `: ${span.status_message}` : '')),
                                attributeList(span.attributes)));
                });
                setMain(head, el('p', { class: 'muted' }, `${spans.length} spans, ${ms(total)} from the first `
                        + 'start to the last end. Click a span for its attributes.'),
                el('div', { class: 'panel waterfall', 'data-testid': 'waterfall' }, rows));
        }

        // ---- routing -------------------------------------------------------------------------------

        function route() {
                const hash = location.hash.replace(/^#/, '') || '/';
                const qpos = hash.indexOf('?');
                const path = qpos < 0 ? hash : hash.slice(0, qpos);
                const params = new URLSearchParams(qpos < 0 ? '' : hash.slice(qpos + 1));
                const seq = ++state.routeSeq;
                let m;
                window.scrollTo(0, 0);
                if (path === '/' || path === '') {
                        return renderCatalogue(params, seq);
                }
                if ((m = /^\/product\/([1-9][0-9]{0,15})$/.exec(path))) {
                        return renderProduct(m[1], seq);
                }
                if (path === '/orders') {
                        return renderOrders(params, seq);
                }
                if ((m = /^\/order\/([1-9][0-9]{0,15})$/.exec(path))) {
                        return renderOrder(m[1], seq);
                }
                if (path === '/tracez') {
                        return renderTracez(params, seq);
                }
                if ((m = /^\/trace\/([0-9a-f]{32})$/.exec(path))) {
                        return renderTrace(m[1], seq);
                }
                setMain(el('section', { class: 'panel' }, el('h1', null, 'Page not found'),
                        el('p', null, el('a', { href: '#/' }, 'Back to the catalogue'))));
                return undefined;
        }

        searchForm.addEventListener('submit', (ev) => {
                ev.preventDefault();
                const target = catalogueHref(searchInput.value.trim(), 1);
                if (location.hash === target || (target === '#/' && location.hash === '')) {
                        route();
                } else {
                        location.hash = target;
                }
        });
        window.addEventListener('hashchange', route);

        // Settings that only the frontend knows (e.g. where Jaeger is); the shop works without them.
        async function loadUiConfig() {
                try {
                        const resp = await fetch('/ui-config.json', { cache: 'no-store' });
                        const cfg = resp.ok ? await resp.json() : {};
                        if (cfg && typeof cfg.jaeger_url === 'string' && /^https?:\/\//i.test(cfg.jaeger_url)) {
                                state.jaegerUrl = cfg.jaeger_url.replace(/\/+$/, '');
                        }
                } catch (e) {
                        // optional
                }
        }

        loadUiConfig().finally(route);
})();
