using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ApiPlatform.Tests.Shared;

namespace ApiPlatform.ClusterTests;

/// <summary>
/// A webhook endpoint on loopback (<see cref="HttpListener"/>): records each request's path and body and answers
/// 200, except on paths it was told to hold, whose requests stay unanswered until the receiver is disposed.
/// </summary>
public sealed class HookReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<(string Path, JsonNode Body)> _received = new();
    private readonly ConcurrentDictionary<string, bool> _holding = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private int _held;

    public HookReceiver()
    {
        Port = TestPorts.Free();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public int Port { get; }

    /// <summary>Requests held unanswered right now.</summary>
    public int Held => Volatile.Read(ref _held);

    public string NewUrl(bool hold = false)
    {
        var path = "/hooks/" + Guid.NewGuid().ToString("N");
        if (hold)
        {
            _holding[path] = true;
        }

        return $"http://127.0.0.1:{Port}{path}";
    }

    public IReadOnlyList<JsonNode> At(string url)
    {
        var path = new Uri(url).AbsolutePath;
        return _received.Where(r => r.Path == path).Select(r => r.Body).ToList();
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                var body = await reader.ReadToEndAsync();
                var path = context.Request.Url!.AbsolutePath;
                _received.Enqueue((path, JsonNode.Parse(body)!));
                if (_holding.ContainsKey(path))
                {
                    Interlocked.Increment(ref _held);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, _stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _held);
                    }
                }

                try
                {
                    context.Response.StatusCode = 200;
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    // The sender gave up first.
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _serving;
        _listener.Close();
        _stop.Dispose();
    }
}
