namespace ApiPlatform.Gateway.Dashboard;

/// <summary>
/// The dashboard's sign-in page: an administrator's email and password (through <c>/v1/auth/login</c>), or the
/// management token, exchanged for the dashboard session cookie. The credentials go to the API by script; the page
/// itself never submits a form, so they never appear in a URL or a server log.
/// </summary>
internal static class DashboardLoginPage
{
    public const string Html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
          <meta charset="utf-8">
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <title>Sign in · Orleans Dashboard · API Platform</title>
          <style>
            body { font-family: system-ui, sans-serif; background: #f4f4f7; margin: 0; }
            main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: .5rem; box-shadow: 0 1px 4px #0002; }
            h1 { font-size: 1.25rem; margin: 0 0 1rem; }
            label { display: block; margin: .75rem 0 .25rem; font-size: .9rem; }
            input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
            button { margin-top: 1rem; width: 100%; padding: .6rem; font-size: 1rem; background: #5c2d91; color: #fff; border: 0; border-radius: .25rem; }
            details { margin-top: 1.5rem; font-size: .9rem; }
            #message { color: #b00020; min-height: 1.25rem; margin-top: 1rem; }
          </style>
        </head>
        <body>
          <main>
            <h1>Orleans Dashboard</h1>
            <p>For system administrators of this API.</p>
            <form id="signin">
              <label for="email">Email</label>
              <input id="email" name="email" type="email" autocomplete="username" required>
              <label for="password">Password</label>
              <input id="password" name="password" type="password" autocomplete="current-password" required>
              <button type="submit">Sign in</button>
            </form>
            <details>
              <summary>Use the management token</summary>
              <form id="token">
                <label for="management-token">Management token</label>
                <input id="management-token" name="token" type="password" autocomplete="off" required>
                <button type="submit">Open the dashboard</button>
              </form>
            </details>
            <p id="message" role="alert"></p>
          </main>
          <script src="/dashboard/login.js"></script>
        </body>
        </html>
        """;

    public const string Script = """
        'use strict';
        const message = document.getElementById('message');

        async function problem(response, fallback) {
          try { return (await response.json()).detail || fallback; } catch { return fallback; }
        }

        async function openDashboard(token) {
          const response = await fetch('/dashboard/session', { method: 'POST', headers: { Authorization: 'Bearer ' + token } });
          if (response.status === 204) {
            location.replace('/dashboard/');
          } else if (response.status === 403) {
            message.textContent = 'This account is not a system administrator.';
          } else {
            message.textContent = await problem(response, 'Signing in failed.');
          }
        }

        document.getElementById('signin').addEventListener('submit', async event => {
          event.preventDefault();
          message.textContent = '';
          const form = event.target;
          const response = await fetch('/v1/auth/login', {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ email: form.email.value, password: form.password.value }),
          });
          if (!response.ok) {
            message.textContent = await problem(response, 'Signing in failed.');
            return;
          }
          await openDashboard((await response.json()).access_token);
        });

        document.getElementById('token').addEventListener('submit', async event => {
          event.preventDefault();
          message.textContent = '';
          await openDashboard(event.target.token.value);
        });
        """;
}
