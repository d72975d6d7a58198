// SPDX-License-Identifier: Apache-2.0
// The shop in a real browser: Debian's headless Chromium driven by playwright-core. Loads the shop,
// searches, pages, opens a product, places an order and reads the success message and the footer's
// trace id; checks that a user name full of HTML stays text, that an API error is shown, and that the
// page fits a phone. Run by tests/integration/test_browser.py, which starts the shop and checks the
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
                const xssOption = page.locator(`[data-testid=history-user-select] option[value="${XSS_USER_ID}"]`);
                await xssOption.waitFor({ state: 'attached' });
                result.xss_option_text = await xssOption.textContent();
                check(result.xss_option_text.includes('<img src=x onerror='), 'the HTML name is shown as text');
                check(await page.evaluate(() => window.__xss === undefined), 'no script from API data ran');
                check(await page.locator('img[src=x]').count() === 0, 'no element made from API data');

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
