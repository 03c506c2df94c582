using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ApiPlatform.ApiTests.Infrastructure;

/// <summary>One Server-Sent Events message: <c>id</c>, <c>event</c> and the <c>data</c> lines joined, as JSON.</summary>
public sealed record ServerSentEvent(string? Id, string? Event, string RawData)
{
    public JsonNode Data => JsonNode.Parse(RawData)!;
}

/// <summary>
/// A client of <c>GET /v1/events/stream</c> that parses the stream as a browser's EventSource does. Opening waits
/// for the server's first comment, sent once the subscription is in place, so whatever the test changes afterwards
/// is on the stream.
/// </summary>
public sealed class EventStreamReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly CancellationTokenSource _stop = new();

    private EventStreamReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    /// <summary>Comment lines seen so far (heartbeats and the opening comment).</summary>
    public List<string> Comments { get; } = [];

    public HttpResponseMessage Response => _response;

    /// <summary>Sends the request and answers the response unread (for refusals: 400, 402).</summary>
    public static async Task<HttpResponseMessage> SendAsync(ApiClient client, Credential credential, string? lastEventId = null, string? query = null,
        Action<HttpRequestMessage>? configure = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events/stream" + (query is null ? "" : "?" + query));
        credential.Apply(request);
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        configure?.Invoke(request);
        return await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    public static async Task<EventStreamReader> OpenAsync(ApiClient client, Credential credential, string? lastEventId = null, string? query = null,
        Action<HttpRequestMessage>? configure = null)
    {
        // The stream lives longer than a request normally may.
        var response = await SendAsync(client, credential, lastEventId, query, configure, TestContext.Current.CancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            response.Dispose();
            Assert.Fail($"Expected 200 for the event stream, got {(int)response.StatusCode}: {body}");
        }

        Assert.StartsWith("text/event-stream", response.Content.Headers.ContentType?.ToString());
        var reader = new EventStreamReader(response, await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        while (reader.Comments.Count == 0)
        {
            Assert.Null(await reader.ReadMessageAsync(TimeSpan.FromSeconds(30)));
        }

        return reader;
    }

    /// <summary>The next message, waiting at most <paramref name="limit"/> (20 s by default) for it.</summary>
    public async Task<ServerSentEvent> NextAsync(TimeSpan? limit = null)
    {
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, "Timed out waiting for an event on the stream.");
            if (await ReadMessageAsync(left) is { } message)
            {
                return message;
            }
        }
    }

    /// <summary>The next <paramref name="count"/> messages.</summary>
    public async Task<List<ServerSentEvent>> NextAsync(int count, TimeSpan? limit = null)
    {
        var messages = new List<ServerSentEvent>();
        while (messages.Count < count)
        {
            messages.Add(await NextAsync(limit));
        }

        return messages;
    }

    /// <summary>Waits until a comment arrives after the ones seen so far (a heartbeat), failing after <paramref name="limit"/>.</summary>
    public async Task<string> NextCommentAsync(TimeSpan limit)
    {
        var seen = Comments.Count;
        var deadline = DateTime.UtcNow + limit;
        while (Comments.Count == seen)
        {
            var left = deadline - DateTime.UtcNow;
            Assert.True(left > TimeSpan.Zero, "Timed out waiting for a comment on the stream.");
            Assert.Null(await ReadMessageAsync(left));
        }

        return Comments[^1];
    }

    /// <summary>Reads up to the end of one message or one comment block; null for a block without data.</summary>
    private async Task<ServerSentEvent?> ReadMessageAsync(TimeSpan limit)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, TestContext.Current.CancellationToken);
        timeout.CancelAfter(limit);
        string? id = null, type = null;
        var data = new List<string>();
        while (true)
        {
            string? line;
            try
            {
                line = await _reader.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"No complete message on the event stream within {limit}.");
            }

            Assert.True(line is not null, "The server closed the event stream.");
            if (line.Length == 0)
            {
                return data.Count == 0 ? null : new ServerSentEvent(id, type, string.Join('\n', data));
            }

            if (line.StartsWith(':'))
            {
                Comments.Add(line[1..].Trim());
                continue;
            }

            var colon = line.IndexOf(':');
            var field = colon < 0 ? line : line[..colon];
            var value = colon < 0 ? "" : line[(colon + 1)..].TrimStart(' ');
            switch (field)
            {
                case "id":
                    id = value;
                    break;
                case "event":
                    type = value;
                    break;
                case "data":
                    data.Add(value);
                    break;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _reader.Dispose();
        _response.Dispose();
        _stop.Dispose();
    }
}
