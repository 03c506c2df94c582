using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ApiPlatform.Grains;
using ApiPlatform.Grains.Telemetry;
using ApiPlatform.Grains.Webhooks;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Silo.Webhooks;

/// <summary>
/// Sends due deliveries, on every silo: claims a batch (each claim locks a row for a minute, so silos never send the
/// same attempt twice and a crashed worker's rows come back), POSTs each signed body, and records the result. 2xx
/// succeeds; 410 fails and disables the webhook; anything else is retried after the next delay of
/// <see cref="WebhookOptions.Schedule"/> (±10 %), and once the schedule is spent the delivery fails and the webhook
/// is disabled. Woken by <see cref="EventSignals.Deliveries"/>, polling otherwise.
/// </summary>
public sealed class WebhookDeliveryWorker(WebhookStore store, EventSignals signals, ApiClock clock, IOptions<WebhookOptions> options,
    IHttpClientFactory httpClients, ILogger<WebhookDeliveryWorker> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";
    private const int MaxResponseBytes = 4096;
    private static readonly TimeSpan ClaimDuration = TimeSpan.FromSeconds(60);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.DispatchEnabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var claimed = 0;
            try
            {
                var batch = await store.ClaimDueAsync(settings.BatchSize, clock.UtcNow, ClaimDuration);
                claimed = batch.Count;
                await Parallel.ForEachAsync(batch, new ParallelOptions { MaxDegreeOfParallelism = settings.MaxConcurrentDeliveries, CancellationToken = stoppingToken },
                    async (delivery, ct) => await DeliverAsync(delivery, ct));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Never let the loop die (a dead background service would stop the host): a claimed delivery whose
                // result was not recorded is claimed again when its lock expires.
                logger.LogWarning(e, "Sending webhook deliveries failed; will retry");
            }

            if (claimed < settings.BatchSize)
            {
                try
                {
                    await signals.Deliveries.WaitAsync(settings.PollInterval, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task DeliverAsync(ClaimedDelivery delivery, CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var attempts = delivery.Attempts + 1;
        // A span of its own: no request started this work, and the POST's HTTP span (and the SQL) belong under it.
        using var activity = ApiTelemetry.ActivitySource.StartActivity(ApiTelemetry.Spans.WebhookDelivery, ActivityKind.Internal);
        activity?.SetTag("webhook.id", delivery.WebhookId);
        activity?.SetTag("webhook.delivery.id", delivery.Id);
        activity?.SetTag("webhook.attempt", attempts);
        var started = Stopwatch.GetTimestamp();
        var (statusCode, error) = await SendAsync(delivery, stoppingToken);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var now = clock.UtcNow;
        if (statusCode is >= 200 and < 300)
        {
            ApiTelemetry.WebhookAttempted(ApiTelemetry.DeliveryOutcome.Succeeded, elapsed);
            await store.CompleteAsync(delivery.Id, DeliveryStatus.Succeeded, attempts, statusCode, null, null, now);
            return;
        }

        activity?.SetStatus(ActivityStatusCode.Error, error);
        if (statusCode == (int)HttpStatusCode.Gone)
        {
            ApiTelemetry.WebhookAttempted(ApiTelemetry.DeliveryOutcome.Failed, elapsed);
            await store.CompleteAsync(delivery.Id, DeliveryStatus.Failed, attempts, statusCode, "endpoint returned 410 Gone", null, now);
            await store.DisableAsync(delivery.WebhookId, "endpoint returned 410 Gone", now);
            return;
        }

        var schedule = settings.Schedule;
        if (attempts > schedule.Count)
        {
            ApiTelemetry.WebhookAttempted(ApiTelemetry.DeliveryOutcome.Failed, elapsed);
            await store.CompleteAsync(delivery.Id, DeliveryStatus.Failed, attempts, statusCode, error, null, now);
            await store.DisableAsync(delivery.WebhookId, "failing for the whole retry schedule", now);
            return;
        }

        ApiTelemetry.WebhookAttempted(ApiTelemetry.DeliveryOutcome.Retrying, elapsed);
        var delay = schedule[attempts - 1] * (0.9 + (Random.Shared.NextDouble() * 0.2));
        await store.CompleteAsync(delivery.Id, DeliveryStatus.Pending, attempts, statusCode, error, now + delay, now);
    }

    /// <summary>One POST: the response's status code (null when none came) and a short error for anything but 2xx.</summary>
    private async Task<(int? StatusCode, string? Error)> SendAsync(ClaimedDelivery delivery, CancellationToken stoppingToken)
    {
        var now = clock.UtcNow;
        var timestamp = now.ToUnixTimeSeconds();
        var secrets = new List<string> { delivery.Secret };
        if (delivery.PreviousSecret is { } previous && delivery.PreviousSecretExpiresAt > now)
        {
            secrets.Add(previous);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new StringContent(delivery.Payload, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("webhook-id", delivery.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", WebhookSignature.Header(secrets, delivery.EventId, timestamp, delivery.Payload));

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(options.Value.DeliveryTimeout);
        try
        {
            var http = httpClients.CreateClient(HttpClientName);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            var excerpt = await ReadExcerptAsync(response, timeout.Token);
            var code = (int)response.StatusCode;
            return (code, code is >= 200 and < 300 ? null : Short($"HTTP {code}{(excerpt.Length > 0 ? ": " + excerpt : "")}"));
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (null, $"timed out after {options.Value.DeliveryTimeout.TotalSeconds:0.#} s");
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
}
