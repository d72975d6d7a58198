// SPDX-License-Identifier: Apache-2.0
// The shop in a real browser: Debian's headless Chromium driven by playwright-core. Loads the shop,
// searches, pages, opens a product, places an order and reads the success message and the footer's
// trace id; checks that a user name full of HTML stays text, that an API error is shown, and that the
// page fits a phone; that the order history names the products; that the trace view of the order draws
// the frontend's and the backend's spans of that one order as a nested waterfall, and that the tracez
// page lists both daemons with every attribute of a sample. Run by tests/integration/test_browser.py, which starts the shop and checks the
// spans; prints one JSON line with what it saw. Env: SHOP_URL, ARTIFACTS_DIR, XSS_USER_ID, NODE_PATH.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const SHOP_URL = process.env.SHOP_URL;
const ARTIFACTS_DIR = process.env.ARTIFACTS_DIR;
const XSS_USER_ID = process.env.XSS_USER_ID;
const STEP_TIMEOUT_MS = 15000;
const CHROMIUM_ARGS = [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage',
];

function check(condition, message) {
        if (!condition) {
                throw new Error(`check failed: ${message}`);
        }
}

async function footerTrace(page) {
        return (await page.locator('#trace-id').textContent()).trim();
}

async function main() {
        const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'oteldemo-chromium-'));
        const problems = []; // console errors and uncaught exceptions: the page must have none
        const result = {};
        const context = await chromium.launchPersistentContext(profile, {
                executablePath: CHROMIUM,
                headless: true,
                args: CHROMIUM_ARGS,
                viewport: { width: 1280, height: 900 },
        });
        try {
                const page = context.pages()[0] || await context.newPage();
                page.setDefaultTimeout(STEP_TIMEOUT_MS);
                page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
                page.on('console', (m) => {
                        // The shop logs nothing; a failed fetch (an expected 409 below) logs a
                        // resource error, which is not a script problem.
                        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) {
                                problems.push(`console: ${m.text()}`);
                        }
                });

                // Catalogue.
                await page.goto(SHOP_URL);
                await page.locator('[data-testid=product-card]').first().waitFor();
                result.catalogue_cards = await page.locator('[data-testid=product-card]').count();
                check(result.catalogue_cards === 12, `12 products per page, got ${result.catalogue_cards}`);
                check(/^[0-9a-f]{32}$/.test(await footerTrace(page)), 'footer shows a trace id');

                // Search and paging.
                await page.fill('#search-input', 'bamboo');
                await page.press('#search-input', 'Enter');
                await page.locator('h1', { hasText: 'Results for “bamboo”' }).waitFor();
                const names = await page.locator('[data-testid=product-card] .card-name').allTextContents();
                check(names.length > 0 && names.every((n) => /bamboo/i.test(n)), `search results: ${names}`);
                await page.click('[data-testid=next-page]');
                await page.locator('[data-testid=page-info]', { hasText: 'Page 2 of' }).waitFor();
                result.search_page2 = await page.locator('[data-testid=page-info]').textContent();

                // Product page and an order.
                const card = page.locator('[data-testid=product-card]').first();
                const productName = (await card.locator('.card-name').textContent()).trim();
                await card.click();
                await page.locator('[data-testid=product-name]', { hasText: productName }).waitFor();
                await page.locator('[data-testid=user-select] option[value="1"]').waitFor({ state: 'attached' });
                await page.selectOption('[data-testid=user-select]', '1');
                await page.fill('[data-testid=quantity]', '2');
                await page.click('[data-testid=place-order]');
                const ok = page.locator('[data-testid=notice-ok]');
                await ok.waitFor();
                result.order_message = (await ok.textContent()).trim();
                const m = /Order #(\d+) is placed/.exec(result.order_message);
                check(m, `success message: ${result.order_message}`);
                result.order_id = Number(m[1]);
                result.order_trace_id = await footerTrace(page);
                check(/^[0-9a-f]{32}$/.test(result.order_trace_id), 'order trace id');
                check(result.order_message.includes(result.order_trace_id), 'message names the trace');
                result.footer_call = (await page.locator('#trace-call').textContent()).trim();
                check(result.footer_call === 'POST /api/orders → 201', `footer call: ${result.footer_call}`);
                const jaeger = page.locator('#jaeger-link');
                result.jaeger_href = await jaeger.getAttribute('href');
                const wide = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
                check(wide <= 0, `product page wider than the window by ${wide}px`);
                await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'shop-order.png'), fullPage: true });

                // An API error reaches the page with the API's own text.
                await page.fill('[data-testid=quantity]', '1000');
                await page.click('[data-testid=place-order]');
                const err = page.locator('[data-testid=notice-error]');
                await err.waitFor();
                result.error_message = (await err.textContent()).trim();
                check(result.error_message.startsWith('Your order was not placed:'), `error: ${result.error_message}`);
                check(/HTTP 409/.test(result.error_message), `error names the status: ${result.error_message}`);

                // Order history, with a customer whose name is HTML: it must stay text.
                await page.goto(`${SHOP_URL}/#/orders?user=1`);
                await page.locator('[data-testid=order]').first().waitFor();
                const orders = await page.locator('[data-testid=order]').allTextContents();
                check(orders.some((t) => t.includes(`Order #${result.order_id}`)), 'the new order is listed');
                const newOrder = page.locator('[data-testid=order]', { hasText: `Order #${result.order_id}` });
                result.history_products = await newOrder.locator('[data-testid=order-item-product]').allTextContents();
                check(result.history_products.length === 1 && result.history_products[0] === productName,
                        `the order history names the product: ${result.history_products}`);
                const xssOption = page.locator(`[data-testid=history-user-select] option[value="${XSS_USER_ID}"]`);
                await xssOption.waitFor({ state: 'attached' });
                result.xss_option_text = await xssOption.textContent();
                check(result.xss_option_text.includes('<img src=x onerror='), 'the HTML name is shown as text');
                check(await page.evaluate(() => window.__xss === undefined), 'no script from API data ran');
                check(await page.locator('img[src=x]').count() === 0, 'no element made from API data');

                // The order's trace, assembled from both daemons' tracez, as a waterfall.
                await page.goto(`${SHOP_URL}/#/trace/${result.order_trace_id}`);
                await page.locator('[data-testid=waterfall] [data-testid=span-row]').first().waitFor();
                const rows = await page.locator('[data-testid=span-row]').evaluateAll((nodes) => nodes.map((n) => ({
                        service: n.dataset.service, name: n.dataset.name, kind: n.dataset.kind,
                        id: n.dataset.spanId, parent: n.dataset.parentId, depth: Number(n.dataset.depth),
                        duration: n.querySelector('.span-duration').textContent,
                        width: n.querySelector('.span-bar').style.width,
                })));
                result.waterfall = rows;
                const row = (service, kind, name) => rows.find((r) => r.service === service && r.kind === kind
                        && r.name === name);
                const feServer = row('frontend', 'SERVER', 'POST /api/orders');
                const feClient = row('frontend', 'CLIENT', 'POST');
                const beServer = row('backend', 'SERVER', 'POST /api/orders');
                check(feServer && feClient && beServer, `waterfall rows: ${JSON.stringify(rows)}`);
                check(feClient.parent === feServer.id && feClient.depth === feServer.depth + 1,
                        'the proxy call nests under the frontend request');
                check(beServer.parent === feClient.id && beServer.depth === feClient.depth + 1,
                        'the backend request nests under the proxy call');
                check(rows.some((r) => r.service === 'backend' && r.parent === beServer.id),
                        'the backend request has children (database, payment)');
                check(rows.every((r) => /^\d+(\.\d+)? ms$/.test(r.duration) && parseFloat(r.width) > 0),
                        'every span shows a duration and a bar');
                check(rows.indexOf(feServer) < rows.indexOf(feClient) && rows.indexOf(feClient) < rows.indexOf(beServer),
                        'parents come before their children');
                await page.locator('[data-testid=span-row]', { has: page.locator('.span-service', { hasText: 'backend' }) })
                        .first().locator('summary').click();
                await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'trace-waterfall.png'), fullPage: true });

                // tracez in the shop: both daemons, and a sample with all its attributes and a UTC time.
                await page.click('#nav-tracez');
                await page.locator('[data-testid=tracez-frontend] [data-testid=tracez-row]').first().waitFor();
                await page.locator('[data-testid=tracez-backend] [data-testid=tracez-row]').first().waitFor();
                await page.locator('[data-testid=tracez-backend] a', { hasText: 'POST /api/orders' }).click();
                await page.locator('[data-testid=tracez-sample]').first().waitFor();
                // The order's sample (201), among the later refused one (409); newest first.
                const samples = await page.locator('[data-testid=tracez-sample]').allInnerTexts();
                const sampleText = samples.find((t) => t.includes(result.order_trace_id)) || samples.join('\n');
                check(/http\.response\.status_code\s+201/.test(sampleText), `sample attributes: ${sampleText}`);
                check(/user_agent\.original\s+Mozilla/.test(sampleText), `all attributes: ${sampleText}`);
                check(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z/.test(sampleText), `UTC start: ${sampleText}`);
                await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'tracez.png'), fullPage: true });

                // A phone: no horizontal scrolling, the cards still there.
                await page.setViewportSize({ width: 390, height: 844 });
                await page.goto(`${SHOP_URL}/#/`);
                await page.locator('[data-testid=product-card]').first().waitFor();
                const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
                check(overflow <= 0, `page wider than a phone by ${overflow}px`);
                await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'shop-phone.png'), fullPage: false });

                check(problems.length === 0, `page problems: ${problems.join('; ')}`);
                result.ok = true;
        } catch (e) {
                // What the page looked like and said when it went wrong.
                const page = context.pages()[0];
                if (page) {
                        await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'shop-failure.png'), fullPage: true })
                                .catch(() => {});
                        const text = await page.locator('body').innerText().catch(() => '');
                        process.stderr.write(`page problems: ${problems.join('; ') || 'none'}\n`
                                + `page text: ${text.slice(0, 2000)}\n`);
                }
                throw e;
        } finally {
                await context.close();
                fs.rmSync(profile, { recursive: true, force: true });
        }
        process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e) => {
        process.stderr.write(`${e.stack || e}\n`);
        process.exit(1);
});
