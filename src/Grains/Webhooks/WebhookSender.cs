using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Grains.Webhooks;

/// <summary>
/// One signed POST of a delivery (Standard Webhooks headers), on a shared HTTP client that follows no redirects, uses
/// no proxy and connects only to addresses <see cref="NetworkPolicy"/> allows — checked on the address actually
/// connected to, so DNS rebinding cannot reach a private network.
/// </summary>
public sealed class WebhookSender : IDisposable
{
    private const int MaxResponseBytes = 4096;

    private readonly HttpClient _http;
    private readonly IOptions<WebhookOptions> _options;
    private readonly ApiClock _clock;

    public WebhookSender(IOptions<WebhookOptions> options, ApiClock clock)
    {
        _options = options;
        _clock = clock;
        var settings = options.Value;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, settings, cancellationToken),
            // Receivers are third parties: our trace ids (traceparent, baggage) are none of their business.
            ActivityHeadersPropagator = System.Diagnostics.DistributedContextPropagator.CreateNoOutputPropagator(),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan, // DeliveryTimeout covers the whole attempt
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd("ApiPlatform-Webhooks/1.0");
    }

    /// <summary>One POST: the response's status code (null when none came) and a short error for anything but 2xx.</summary>
    public async Task<(int? StatusCode, string? Error)> SendAsync(WebhookTarget target, string eventId, string payload, CancellationToken cancellationToken = default)
    {
        var now = _clock.UtcNow;
        var timestamp = now.ToUnixTimeSeconds();
        var secrets = new List<string> { target.Secret };
        if (target.PreviousSecret is { } previous && target.PreviousSecretExpiresAt > now)
        {
            secrets.Add(previous);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, target.Url)
        {
            Content = new StringContent(payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("webhook-id", eventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSignature.Header(secrets, eventId, timestamp, payload));

        var timeoutAfter = _options.Value.DeliveryTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(timeoutAfter);
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var excerpt = await ReadExcerptAsync(response, timeout.Token);
            var code = (int)response.StatusCode;
            return (code, code is >= 200 and < 300 ? null : Short($"HTTP {code}{(excerpt.Length > 0 ? ": " + excerpt : "")}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"timed out after {timeoutAfter.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return (null, Short(e.InnerException is SocketException s ? $"connection failed: {s.SocketErrorCode}" : e.Message));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return (null, Short(e.Message));
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>At most 4 KB of the response body, of which the first 200 characters are kept for the log.</summary>
    private static async Task<string> ReadExcerptAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[MaxResponseBytes];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), cancellationToken)) > 0)
        {
            read += n;
        }

        return Encoding.UTF8.GetString(buffer, 0, read).Trim();
    }

    private static string Short(string text)
    {
        var line = text.ReplaceLineEndings(" ");
        return line.Length <= 200 ? line : line[..200] + "…";
    }

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, WebhookOptions options, CancellationToken cancellationToken)
    {
        // Endpoints saved before the port list changed are held to today's list too.
        if (!NetworkPolicy.IsAllowedPort(context.DnsEndPoint.Port, options))
        {
            throw new HttpRequestException($"refused: port {context.DnsEndPoint.Port} is not among Webhooks:AllowedPorts");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            var remote = ((IPEndPoint)socket.RemoteEndPoint!).Address;
            if (!options.AllowPrivateNetworks && !NetworkPolicy.IsPublic(remote))
            {
                throw new HttpRequestException($"refused: {context.DnsEndPoint.Host} resolved to non-public address {remote}");
            }

            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>Where and how to sign a delivery: the endpoint's URL and secrets at the moment of the attempt.</summary>
public sealed record WebhookTarget(string Url, string Secret, string? PreviousSecret, DateTimeOffset? PreviousSecretExpiresAt);
