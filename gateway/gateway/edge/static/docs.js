/* GridCommons /docs: Swagger UI configuration (served by the gateway, no inline script).
 *
 * - Authorize holds the sign-in (PasswordLogin for people, MachineClient for machines, or a
 *   pasted BearerAuth token) and the CompanyID once; both survive a reload (persistAuthorization).
 *   Passwords and client secrets are never written to the browser's storage.
 * - The token request never carries an empty client id/secret as "Authorization: Basic Og==".
 * - Expired sessions: a token about to expire is renewed with its refresh_token
 *   (grant_type=refresh_token on /auth/token, RFC 6749 section 6) before the request is sent;
 *   a 401 renews it if it can (then asks to press Execute again) and otherwise signs that scheme
 *   out and shows a banner asking to sign in again.
 */
(function () {
  "use strict";

  var root = document.getElementById("swagger-ui");
  var banner = document.getElementById("gc-session-banner");
  var TOKEN_PATH = "/auth/token";
  var RENEW_MARGIN_SECONDS = 30;
  var ui = null;
  var tokenByUrl = {}; // request URL -> bearer token it carried (to judge a 401)
  var renewing = {}; // scheme name -> pending renewal

  function resolve(url) {
    try {
      return new URL(url, window.location.href);
    } catch (e) {
      return null;
    }
  }

  function ownPath(url) {
    var u = resolve(url);
    return u && u.origin === window.location.origin ? u.pathname : null;
  }

  function findHeader(headers, name) {
    var wanted = name.toLowerCase();
    for (var key in headers || {}) {
      if (Object.prototype.hasOwnProperty.call(headers, key) && key.toLowerCase() === wanted) {
        return { key: key, value: String(headers[key]) };
      }
    }
    return null;
  }

  function tokenExpiry(token) {
    try {
      var part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      while (part.length % 4) part += "=";
      var exp = JSON.parse(window.atob(part)).exp;
      return typeof exp === "number" ? exp : null;
    } catch (e) {
      return null;
    }
  }

  function authorized() {
    return ui ? ui.authSelectors.authorized().toJS() : {};
  }

  // The authorized scheme whose token this is: an OAuth2 sign-in, or a pasted BearerAuth value.
  function schemeHolding(token) {
    var all = authorized();
    for (var name in all) {
      var entry = all[name];
      if (entry && entry.token && entry.token.access_token === token) return entry;
      if (entry && entry.value === token) return entry;
    }
    return null;
  }

  function refreshTokenOf(entry) {
    return (entry && entry.token && entry.token.refresh_token) || null;
  }

  // ------------------------------------------------------------------ banner
  function showBanner(text, askSignIn) {
    banner.querySelector(".gc-banner-text").textContent = text;
    banner.querySelector(".gc-banner-signin").hidden = !askSignIn;
    banner.className = "gc-banner " + (askSignIn ? "gc-banner-warn" : "gc-banner-info");
    banner.hidden = false;
  }

  function hideBanner() {
    banner.hidden = true;
  }

  banner.querySelector(".gc-banner-close").addEventListener("click", hideBanner);
  banner.querySelector(".gc-banner-signin").addEventListener("click", function () {
    hideBanner();
    var button = document.querySelector(".swagger-ui .auth-wrapper .authorize");
    if (button) button.click();
  });

  // ------------------------------------------------------------------ renewal
  function renew(entry) {
    var refreshToken = refreshTokenOf(entry);
    if (!refreshToken) return Promise.resolve(null);
    if (!renewing[entry.name]) {
      renewing[entry.name] = window
        .fetch(TOKEN_PATH, {
          method: "POST",
          credentials: "omit",
          headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
          body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
        })
        .then(function (response) {
          return response.ok ? response.json() : null;
        })
        .then(function (token) {
          if (!token || !token.access_token) return null;
          var auth = Object.assign({}, entry);
          delete auth.token;
          ui.authActions.authorizeOauth2WithPersistOption({ auth: auth, token: token });
          return token.access_token;
        })
        .catch(function () {
          return null;
        })
        .then(function (accessToken) {
          delete renewing[entry.name];
          return accessToken;
        });
    }
    return renewing[entry.name];
  }

  function sessionEnded(entry) {
    ui.authActions.logoutWithPersistOption([entry.name]);
    showBanner("Your session has expired or was ended: sign in again (Authorize).", true);
  }

  // ------------------------------------------------------------------ interceptors
  function requestInterceptor(request) {
    var path = ownPath(request.url);
    if (path === null) return request;
    var auth = findHeader(request.headers, "Authorization");
    if (path === TOKEN_PATH) {
      // Swagger UI sends the password flow's (empty) client id and secret as HTTP Basic: drop it.
      if (auth && /^Basic\s+/i.test(auth.value)) {
        var pair = "";
        try {
          pair = window.atob(auth.value.replace(/^Basic\s+/i, ""));
        } catch (e) {
          pair = "";
        }
        if (pair === ":" || pair === "") delete request.headers[auth.key];
      }
      return request;
    }
    if (!auth || !/^Bearer\s+/i.test(auth.value)) {
      delete tokenByUrl[request.url];
      return request;
    }
    var token = auth.value.replace(/^Bearer\s+/i, "");
    tokenByUrl[request.url] = token;
    var exp = tokenExpiry(token);
    if (exp === null || exp - RENEW_MARGIN_SECONDS > Date.now() / 1000) return request;
    var entry = schemeHolding(token);
    if (!refreshTokenOf(entry)) return request; // the 401 will say so
    return renew(entry).then(function (fresh) {
      if (fresh) {
        request.headers[auth.key] = "Bearer " + fresh;
        tokenByUrl[request.url] = fresh;
      }
      return request;
    });
  }

  function responseInterceptor(response) {
    var path = ownPath(response.url);
    if (path === TOKEN_PATH) {
      if (response.ok) hideBanner();
      return response;
    }
    if (path === null || response.status !== 401) return response;
    var token = tokenByUrl[response.url];
    var entry = token ? schemeHolding(token) : null;
    if (!token) {
      showBanner("This operation needs a sign-in: use Authorize.", true);
      return response;
    }
    if (!entry) return response; // already renewed or signed out meanwhile
    if (refreshTokenOf(entry)) {
      return renew(entry).then(function (fresh) {
        if (fresh) showBanner("Your session was renewed: press Execute again.", false);
        else sessionEnded(entry);
        return response;
      });
    }
    sessionEnded(entry);
    return response;
  }

  // ------------------------------------------------------------------ plugins
  // Keep the token, never the password or client secret, in the persisted authorization.
  function ForgetSecrets() {
    return {
      statePlugins: {
        auth: {
          wrapActions: {
            authorizeOauth2: function (original) {
              return function (payload) {
                var auth = Object.assign({}, payload.auth);
                delete auth.password;
                delete auth.clientSecret;
                return original(Object.assign({}, payload, { auth: auth }));
              };
            },
          },
        },
      },
    };
  }

  ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    dom_id: "#swagger-ui",
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis, window.SwaggerUIBundle.SwaggerUIStandalonePreset],
    plugins: [ForgetSecrets],
    oauth2RedirectUrl: resolve(root.getAttribute("data-oauth2-redirect-url")).href,
    deepLinking: true,
    persistAuthorization: true,
    displayRequestDuration: true,
    showExtensions: true,
    showCommonExtensions: true,
    filter: true,
    requestInterceptor: requestInterceptor,
    responseInterceptor: responseInterceptor,
  });
  ui.initOAuth({ scopes: [] });
  window.ui = ui;
})();
