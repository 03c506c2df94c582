using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Failover;

/// <summary>
/// A GET or HEAD whose grain call found its silo unreachable (killed, not yet declared dead) waits for cluster
/// membership to move on, at most <see cref="FailoverOptions.ReadRetryWait"/>, and then runs once more: by then the
/// grain reactivates on a surviving silo and the dead silo's share of the grain directory has been taken over. A read
/// changes nothing, so running it twice is safe; writes are never retried here (a client retries them with its
/// Idempotency-Key). The retry is not charged to the rate limit again. Sits inside the problem-details exit, so a
/// second failure, or no change in time, is the usual 503 with Retry-After.
/// </summary>
public sealed class ReadRetryMiddleware(RequestDelegate next, IOptionsMonitor<FailoverOptions> options, IClusterChangeSignal cluster,
    ILogger<ReadRetryMiddleware> logger)
{
    /// <summary>Set in <see cref="HttpContext.Items"/> while a request runs its retry.</summary>
    public const string RetryingKey = "failover.read-retry";

    public async Task InvokeAsync(HttpContext context)
    {
        var settings = options.CurrentValue;
        var method = context.Request.Method;
        if (!settings.Enabled || settings.ReadRetryWait <= TimeSpan.Zero || !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method)))
        {
            await next(context);
            return;
        }

        var seen = cluster.Version;
        try
        {
            await next(context);
            return;
        }
        catch (Exception e) when (ClusterFailures.IsSiloUnreachable(e) && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            if (!await cluster.WaitForChangeAsync(seen, settings.ReadRetryWait, context.RequestAborted))
            {
                throw;
            }

            logger.LogInformation("Retrying {Method} {Path} after a cluster membership change ({Error})", method, context.Request.Path, e.GetType().Name);
        }

        ApiPlatform.Grains.Telemetry.ApiTelemetry.FailoverFallback("read_retry");
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Items[RetryingKey] = true;
        await next(context);
    }
}
