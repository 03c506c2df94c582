using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using ApiPlatform.Tests.Shared;

namespace ApiPlatform.GrainTests;

/// <summary>
/// A real HTTP endpoint on loopback (<see cref="HttpListener"/>) for webhook deliveries: records every request in
/// arrival order and answers with the status <see cref="Answer"/> holds (200 unless changed), or holds requests open
/// while <see cref="Holding"/> is set until <see cref="Release"/>.
/// </summary>
public sealed class TestReceiver : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<JsonNode> _received = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serving;
    private TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _held;

    public TestReceiver()
    {
        var port = TestPorts.Free();
        Url = $"http://127.0.0.1:{port}/hook";
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public string Url { get; }

    /// <summary>The status code of the next answers.</summary>
    public int Answer { get; set; } = 200;

    /// <summary>While true, requests are held unanswered until <see cref="Release"/>.</summary>
    public bool Holding { get; set; }

    /// <summary>Requests held unanswered right now.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>The bodies received so far, in arrival order.</summary>
    public IReadOnlyList<JsonNode> Received => [.. _received];

    public void Release()
    {
        Holding = false;
        _release.TrySetResult();
        _release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
                _received.Enqueue(JsonNode.Parse(body)!);
                if (Holding)
                {
                    Interlocked.Increment(ref _held);
                    try
                    {
                        await _release.Task.WaitAsync(_stop.Token);
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
                    context.Response.StatusCode = Answer;
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
