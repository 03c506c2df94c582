using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ApiPlatform.Tests.Shared;

/// <summary>One request a webhook endpoint received.</summary>
public sealed record ReceivedWebhook(string Path, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string Header(string name) => Headers.TryGetValue(name, out var value) ? value : throw new KeyNotFoundException(name);

    /// <summary>The body as JSON (webhook bodies always are).</summary>
    public JsonNode Json => JsonNode.Parse(Body)!;
}

/// <summary>
/// A real HTTP endpoint on loopback (Kestrel on a free port) that records every POST and answers with the status codes
/// a test programs per path (200 when nothing is programmed), or holds a path's requests until released. One receiver
/// serves any number of endpoint URLs (<see cref="NewUrl"/>), each observed on its own (<see cref="At"/>).
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedWebhook> _received = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _programmed = new();
    private readonly ConcurrentDictionary<string, int> _fallback = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _hung = new();
    private int _waiting;
    private WebApplication _app = null!;

    /// <summary>A programmed answer that holds the request until <see cref="Release"/>, then answers 200.</summary>
    public const int Hold = 0;

    public Uri BaseAddress { get; private set; } = null!;

    public static async Task<WebhookReceiver> StartAsync()
    {
        var receiver = new WebhookReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var path = context.Request.Path.Value!;
            var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
            receiver._received.Enqueue(new ReceivedWebhook(path, headers, body));
            var status = receiver._programmed.TryGetValue(path, out var queue) && queue.TryDequeue(out var next)
                ? next
                : receiver._fallback.GetValueOrDefault(path, 200);
            if (status == Hold || receiver._hung.ContainsKey(path))
            {
                var release = receiver._hung.GetOrAdd(path, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                Interlocked.Increment(ref receiver._waiting);
                try
                {
                    await release.Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    return Results.Empty;
                }
                finally
                {
                    Interlocked.Decrement(ref receiver._waiting);
                }

                status = status == Hold ? 200 : status;
            }

            return Results.Text($"answered {status}", statusCode: status);
        });
        await app.StartAsync();
        receiver._app = app;
        receiver.BaseAddress = new Uri(app.Urls.First());
        return receiver;
    }

    /// <summary>A fresh endpoint URL on this receiver; with <paramref name="hold"/>, its requests are held as by <see cref="Hang"/>.</summary>
    public string NewUrl(bool hold = false)
    {
        var url = new Uri(BaseAddress, "/hooks/" + Guid.NewGuid().ToString("N")).ToString();
        if (hold)
        {
            Hang(url);
        }

        return url;
    }

    /// <summary>Every later answer of <paramref name="url"/> is <paramref name="status"/>.</summary>
    public void Answer(string url, int status) => Program(url, [], status);

    /// <summary>The next answers of <paramref name="url"/>, in order; then <paramref name="then"/> for every later one.</summary>
    public void Program(string url, IEnumerable<int> statuses, int then = 200)
    {
        var path = new Uri(url).AbsolutePath;
        _programmed[path] = new ConcurrentQueue<int>(statuses);
        _fallback[path] = then;
    }

    /// <summary>Requests to <paramref name="url"/> get no answer until <see cref="Release"/> (or until the sender gives up).</summary>
    public void Hang(string url) => _hung[new Uri(url).AbsolutePath] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Answers the held requests of <paramref name="url"/> (as programmed) and stops holding new ones.</summary>
    public void Release(string url)
    {
        if (_hung.TryRemove(new Uri(url).AbsolutePath, out var release))
        {
            release.TrySetResult();
        }
    }

    /// <summary>Requests held unanswered right now.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public IReadOnlyList<ReceivedWebhook> At(string url)
    {
        var path = new Uri(url).AbsolutePath;
        return _received.Where(r => r.Path == path).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var release in _hung.Values)
        {
            release.TrySetResult();
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
