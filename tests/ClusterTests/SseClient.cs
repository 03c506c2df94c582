using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace ApiPlatform.ClusterTests;

/// <summary>A minimal Server-Sent Events client of <c>GET /v1/events/stream</c>: messages as (id, type, data JSON).</summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseClient(HttpClient http, HttpResponseMessage response, StreamReader reader)
    {
        _http = http;
        _response = response;
        _reader = reader;
    }

    /// <summary>Opens the stream and waits for the server's first comment (the subscription is in place then).</summary>
    public static async Task<SseClient> OpenAsync(Uri baseAddress, string token, string? lastEventId = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = Timeout.InfiniteTimeSpan };
        var request = new HttpRequestMessage(HttpMethod.Get, "/v1/events/stream");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        if (lastEventId is not null)
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var client = new SseClient(http, response, new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8));
        while (true)
        {
            var line = await client.ReadLineAsync(TimeSpan.FromSeconds(30));
            if (line.StartsWith(':'))
            {
                return client;
            }
        }
    }

    /// <summary>The next message within <paramref name="limit"/>.</summary>
    public async Task<(string Id, string Type, JsonNode Data)> NextAsync(TimeSpan limit)
    {
        var deadline = DateTimeOffset.UtcNow + limit;
        string? id = null, type = null;
        var data = new StringBuilder();
        while (true)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            Assert.True(left > TimeSpan.Zero, "no event on the stream in time");
            var line = await ReadLineAsync(left);
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return (id!, type!, JsonNode.Parse(data.ToString())!);
                }

                continue;
            }

            if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data.Append(data.Length > 0 ? "\n" : "").Append(line[6..]);
            }
        }
    }

    private async Task<string> ReadLineAsync(TimeSpan limit)
    {
        using var timeout = new CancellationTokenSource(limit);
        var line = await _reader.ReadLineAsync(timeout.Token);
        Assert.True(line is not null, "the server closed the event stream");
        return line;
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
