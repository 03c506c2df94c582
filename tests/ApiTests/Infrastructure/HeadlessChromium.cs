using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>
/// Headless Chromium (Debian's package) driven over the DevTools protocol, for tests that use a page as a person
/// would: open it, type into it, click, and wait until it shows something. One page per browser.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    public const string Executable = "/usr/bin/chromium";

    private readonly Process _process;
    private readonly DirectoryInfo _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _pending = new();
    private readonly CancellationTokenSource _stop = new();
    private Task _receiver = Task.CompletedTask;
    private int _nextId;
    private string _session = "";

    private HeadlessChromium(Process process, DirectoryInfo profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Skips the test outside ./test.sh when Chromium is missing; fails it in CI, where test.sh installs it.</summary>
    public static void RequireInstalled()
    {
        if (!File.Exists(Executable))
        {
            Assert.SkipUnless(Environment.GetEnvironmentVariable("CI") == "true" || Environment.GetEnvironmentVariable("REQUIRE_POSTGRES") == "1",
                "Chromium is not installed (apt-get install chromium); ./test.sh installs it.");
            Assert.Fail("Chromium is required here: ./test.sh installs it.");
        }
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        RequireInstalled();
        var profile = Directory.CreateTempSubdirectory("chromium-profile-");
        var info = new ProcessStartInfo(Executable,
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            $"--user-data-dir={profile.FullName}", "about:blank",
        ])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var process = Process.Start(info) ?? throw new InvalidOperationException("Chromium did not start.");
        var browser = new HeadlessChromium(process, profile);
        try
        {
            _ = process.StandardOutput.ReadToEndAsync();
            var endpoint = await ReadDevToolsEndpointAsync(process);
            await browser._socket.ConnectAsync(endpoint, TestContext.Current.CancellationToken);
            browser._receiver = Task.Run(browser.ReceiveAsync);
            var target = await browser.SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" }, session: false);
            var attached = await browser.SendAsync("Target.attachToTarget",
                new JsonObject { ["targetId"] = (string)target["targetId"]!, ["flatten"] = true }, session: false);
            browser._session = (string)attached["sessionId"]!;
            await browser.SendAsync("Page.enable", []);
            await browser.SendAsync("Runtime.enable", []);
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    public Task NavigateAsync(Uri url) => SendAsync("Page.navigate", new JsonObject { ["url"] = url.ToString() });

    /// <summary>Runs JavaScript in the page and returns its (awaited) value as JSON.</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject
        {
            ["expression"] = expression,
            ["returnByValue"] = true,
            ["awaitPromise"] = true,
        });
        if (result["exceptionDetails"] is { } error)
        {
            throw new InvalidOperationException($"The page's script failed: {error.ToJsonString()}");
        }

        return result["result"]?["value"];
    }

    /// <summary>Waits until <paramref name="expression"/> is true in the page (a navigation in between is fine).</summary>
    public Task WaitUntilAsync(string expression, string what, TimeSpan? limit = null)
    {
        var seen = "";
        return Eventually.HoldsAsync(async () =>
        {
            try
            {
                var state = await EvaluateAsync(
                    $"({{ ok: Boolean({expression}), text: document.location.href + ' :: ' + (document.body ? document.body.innerText : '') }})");
                seen = (string?)state?["text"] ?? "";
                return (bool?)state?["ok"] == true;
            }
            catch (InvalidOperationException)
            {
                return false; // The page is between documents.
            }
        }, what, limit ?? TimeSpan.FromSeconds(30), describe: () => "Page: " + (seen.Length > 1500 ? seen[..1500] : seen));
    }

    private async Task<JsonNode> SendAsync(string method, JsonObject parameters, bool session = true)
    {
        var id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters };
        if (session)
        {
            message["sessionId"] = _session;
        }

        var done = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = done;
        await _socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, TestContext.Current.CancellationToken);
        var answer = await done.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        return answer["error"] is { } error
            ? throw new InvalidOperationException($"{method} failed: {error.ToJsonString()}")
            : answer["result"] ?? new JsonObject();
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[64 * 1024];
        using var message = new MemoryStream();
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage)
                {
                    continue;
                }

                var node = JsonNode.Parse(message.ToArray());
                message.SetLength(0);
                if (node?["id"] is { } id && _pending.TryRemove(id.GetValue<int>(), out var waiter))
                {
                    waiter.TrySetResult(node);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or JsonException)
        {
            foreach (var waiter in _pending.Values)
            {
                waiter.TrySetException(e);
            }
        }
    }

    private static async Task<Uri> ReadDevToolsEndpointAsync(Process process)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        const string prefix = "DevTools listening on ";
        while (await process.StandardError.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                _ = process.StandardError.ReadToEndAsync();
                return new Uri(line[prefix.Length..].Trim());
            }
        }

        throw new InvalidOperationException($"Chromium exited ({(process.HasExited ? process.ExitCode : -1)}) without a DevTools endpoint.");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await _receiver;
        }
        catch (OperationCanceledException)
        {
        }

        _socket.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _stop.Dispose();
        try
        {
            _profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be writing its profile as it dies; a temp folder left behind is harmless.
        }
    }
}
