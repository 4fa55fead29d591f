/* The demo storefront: Segment's analytics.js (vendored, sending to this server, no settings
 * loaded from anywhere) and pages drawn from /demo/catalog.json. The basket lives in
 * localStorage; every step is a Segment e-commerce spec event. */
(function () {
  "use strict";
  var me = document.currentScript;
  var writeKey = me.dataset.writeKey;
  // keepalive: a request under way when the shopper follows a link still arrives (without it
  // the browser cancels it, and the library sends the event again on the next page).
  var segmentio = { apiKey: writeKey, apiHost: location.host + "/v1", protocol: location.protocol.replace(":", ""),
                    deliveryStrategy: { strategy: "standard", config: { keepalive: true } } };
  window.analytics = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: writeKey, cdnURL: location.origin + "/demo/cdn",
      cdnSettings: { integrations: { "Segment.io": segmentio } } },
    { integrations: { "Segment.io": segmentio } }
  );
  var CART = "shop.cart";
  var data = null;

  function cart() { try { return JSON.parse(localStorage.getItem(CART)) || []; } catch (e) { return []; } }
  function save(lines) { localStorage.setItem(CART, JSON.stringify(lines)); count(); }
  function count() {
    var n = cart().reduce(function (s, l) { return s + l.quantity; }, 0);
    var c = document.getElementById("cart-count");
    if (c) c.textContent = String(n);
  }
  function money(v) { return "$" + v.toFixed(2); }
  // The price as the retailer's tables have it now; the regular one struck through in a sale.
  function price(p) {
    return (p.list_price ? '<s class="was">' + money(p.list_price) + "</s> " : "") + money(p.price);
  }
  // The basket at today's prices (a line keeps the price it was added at otherwise).
  function priced() {
    return cart().map(function (l) { var p = byId(l.product_id); if (p) l.price = p.price; return l; });
  }
  function byId(id) { return data.products.filter(function (p) { return p.id === id; })[0]; }
  function item(p, q) {
    return { product_id: p.id, sku: p.sku, name: p.name, brand: p.brand, category: p.category,
             price: p.price, quantity: q || 1, currency: data.currency, url: location.origin + "/demo/product/" + p.id };
  }
  function esc(s) { var d = document.createElement("div"); d.textContent = String(s); return d.innerHTML; }
  function card(p) {
    return '<li class="card"><div class="brand-name">' + esc(p.brand) + '</div><h3><a href="/demo/product/' +
      p.id + '">' + esc(p.name) + '</a></h3><div class="price">' + price(p) + "</div></li>";
  }
  function main(html) { document.getElementById("main").innerHTML = html; }
  // An inline slot /v1/juncture.js fills from POST /v1/decide: a recommendation kind
  // (recs:similar ...) or a touchpoint of the retailer's tables (pickup, specs ...), about
  // one product, at the shopper's store (the first, in this demo).
  function slot(placement, productId) {
    return '<div class="slot" data-juncture-slot="' + placement + '" data-product-id="' + esc(productId || "") +
      '" data-store-code="' + esc(data.stores.length ? data.stores[0].code : "") + '"></div>';
  }
  function slots(placements, productId) {
    return '<section class="slots" aria-label="For you">' +
      placements.map(function (p) { return slot(p, productId); }).join("") + "</section>";
  }

  var pages = {
    home: function () {
      var featured = data.featured.map(byId);
      main('<section class="hero"><h1>Gear for every trail and every city</h1><p>New season, free returns.</p></section>' +
        "<h2>Shop by category</h2><ul class=\"chips\">" + data.categories.slice(0, 12).map(function (c) {
          return '<li><a href="/demo/category/' + c.id + '">' + esc(c.name) + "</a></li>";
        }).join("") + '</ul><h2>Featured</h2><ul class="grid">' + featured.map(card).join("") + "</ul>");
      analytics.page("Home");
    },
    category: function (id) {
      var cat = data.categories.filter(function (c) { return c.id === id; })[0];
      if (!cat) return main("<h1>No such category</h1>");
      var products = data.products.filter(function (p) { return p.category_id === id; });
      main("<h1>" + esc(cat.name) + '</h1><ul class="grid">' + products.map(card).join("") + "</ul>");
      analytics.page("Category", { category: cat.name });
      analytics.track("Product List Viewed", { list_id: id, category: cat.name,
        products: products.map(function (p, i) { var it = item(p); it.position = i + 1; return it; }) });
    },
    product: function (id) {
      var p = byId(id);
      if (!p) return main("<h1>No such product</h1>");
      var stock = data.stores.map(function (s) {
        return "<li>" + esc(s.name) + ": " + (p.stock[s.code] ? p.stock[s.code] + " in stock" : "out of stock") + "</li>";
      }).join("");
      main('<article class="card"><div class="brand-name">' + esc(p.brand) + "</div><h1>" + esc(p.name) +
        '</h1><p class="price">' + price(p) + "</p><p>" + esc(p.description) + "</p>" +
        '<p><a href="/demo/category/' + p.category_id + '">More in ' + esc(p.category) + "</a></p>" +
        '<button class="primary" id="add">Add to basket</button><h2>In our stores</h2><ul>' + stock + "</ul></article>" +
        slots(["recs:similar", "price_drop", "back_in_stock", "low_stock", "pickup", "specs", "reviews"], p.id));
      analytics.page("Product", { product_id: p.id });
      analytics.track("Product Viewed", item(p));
      document.getElementById("add").addEventListener("click", function () {
        var lines = cart();
        var line = lines.filter(function (l) { return l.product_id === p.id; })[0];
        if (line) line.quantity += 1; else lines.push(item(p));
        save(lines);
        analytics.track("Product Added", item(p));
        this.textContent = "Added to basket";
      });
    },
    cart: function () {
      var lines = priced();
      var total = lines.reduce(function (s, l) { return s + l.price * l.quantity; }, 0);
      main("<h1>Your basket</h1>" + (lines.length ? "<table><thead><tr><th>Product</th><th>Quantity</th><th>Price</th></tr></thead><tbody>" +
        lines.map(function (l) { return "<tr><td>" + esc(l.name) + "</td><td>" + l.quantity + "</td><td>" + money(l.price * l.quantity) + "</td></tr>"; }).join("") +
        "</tbody></table><p class=\"price\">Total " + money(total) + '</p><p><a href="/demo/checkout">Checkout</a></p>' : "<p>Your basket is empty.</p>") +
        slots(["recs:bought_together", "coupon", "loyalty"], lines.length ? lines[0].product_id : ""));
      analytics.page("Cart");
      analytics.track("Cart Viewed", { cart_id: "local", products: lines });
    },
    checkout: function () {
      var lines = priced();
      var total = lines.reduce(function (s, l) { return s + l.price * l.quantity; }, 0);
      main('<h1>Checkout</h1><form class="checkout"><label>Email <input type="email" name="email" required autocomplete="email"></label>' +
        '<button class="primary">Place order (' + money(total) + ")</button></form>");
      analytics.page("Checkout");
      analytics.track("Checkout Started", { value: total, revenue: total, currency: data.currency, products: lines });
      document.querySelector("form.checkout").addEventListener("submit", function (e) {
        e.preventDefault();
        var email = this.email.value.trim().toLowerCase();
        var order = "o-" + Date.now().toString(36);
        analytics.identify({ email: email });
        analytics.track("Order Completed", { order_id: order, total: total, revenue: total, currency: data.currency, products: lines });
        save([]);
        main("<h1>Thank you</h1><p>Your order " + esc(order) + " is on its way.</p>");
      });
    },
    stores: function () {
      main("<h1>Our stores</h1><ul class=\"grid\">" + data.stores.map(function (s) {
        return '<li class="card"><h3>' + esc(s.name) + "</h3><p>" + esc(s.city) + ", " + esc(s.country) + "</p></li>";
      }).join("") + "</ul>");
      analytics.page("Store Locator");
    }
  };

  function draw() {
    var kind = document.body.dataset.page;
    var rest = location.pathname.split("/").slice(3).join("/");
    count();
    pages[kind](decodeURIComponent(rest));
    document.documentElement.setAttribute("data-shop-ready", "true");
    // the slots were drawn after /v1/juncture.js looked for them: ask it to fill them now
    if (window.Juncture && window.Juncture.slots) window.Juncture.slots(document.getElementById("main"));
  }

  fetch("/demo/catalog.json").then(function (r) { return r.json(); }).then(function (d) {
    data = d;
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw); else draw();
  });
})();
