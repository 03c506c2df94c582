namespace ApiPlatform.Gateway.Errors;

/// <summary>
/// The one exit for errors: client errors become their problem details, framework errors (oversized or unreadable
/// bodies) their 4xx, grain-cluster outages 503, and anything else a 500 that carries no internals.
/// </summary>
public sealed class ProblemDetailsMiddleware(RequestDelegate next, ILogger<ProblemDetailsMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var requestId = RequestIds.Get(context);
        context.Response.Headers[RequestIds.Header] = requestId;
        try
        {
            await next(context);
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            await HandleAsync(context, error, requestId);
        }
    }

    private async Task HandleAsync(HttpContext context, Exception error, string requestId)
    {
        switch (error)
        {
            case ApiException api:
                await ProblemWriter.WriteAsync(context, api);
                return;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                await ProblemWriter.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ProblemCodes.PayloadTooLarge,
                    "The request body exceeds the size limit.");
                return;
            case BadHttpRequestException bad:
                await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, ProblemCodes.InvalidRequest, bad.Message);
                return;
            case OperationCanceledException when context.RequestAborted.IsCancellationRequested:
                // The client went away; there is nobody to answer.
                context.Response.StatusCode = 499;
                return;
            // The cluster itself is unsteady (a silo joining, leaving or dead, a grain call past Orleans:ResponseTimeout,
            // the database restarting): worth a retry, possibly elsewhere.
            case var unavailable when Failover.ClusterFailures.IsUnavailable(unavailable):
                logger.LogWarning(error, "Request {RequestId} could not reach the cluster", requestId);
                context.Response.Headers.RetryAfter = "1";
                await ProblemWriter.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, ProblemCodes.ServiceUnavailable,
                    "The service is temporarily unavailable. Retry shortly.");
                return;
            default:
                logger.LogError(error, "Request {RequestId} failed", requestId);
                await ProblemWriter.WriteAsync(context, StatusCodes.Status500InternalServerError, ProblemCodes.InternalServerError,
                    $"An internal error occurred. Quote request id {requestId} when reporting it.");
                return;
        }
    }
}
