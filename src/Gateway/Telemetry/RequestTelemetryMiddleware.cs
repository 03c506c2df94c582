using ApiPlatform.Gateway.Auth;
using ApiPlatform.Gateway.Errors;
using ApiPlatform.Grains.Telemetry;

namespace ApiPlatform.Gateway.Telemetry;

/// <summary>
/// The outermost step of every request: puts the request's <c>request_id</c> on every log line written while it runs
/// (a logging scope; trace and span ids come from the request's activity), and counts the answer by route template
/// and status once it is final, including refusals for a plan cap (402) by plan.
/// </summary>
public sealed class RequestTelemetryMiddleware(RequestDelegate next, ILogger<RequestTelemetryMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        using var scope = logger.BeginScope(new RequestLogScope(RequestIds.Get(context)));
        try
        {
            await next(context);
        }
        finally
        {
            Record(context);
        }
    }

    private static void Record(HttpContext context)
    {
        var route = (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? ApiTelemetry.UnmatchedRoute;
        var status = context.Response.StatusCode;
        ApiTelemetry.RequestCompleted(route, context.Request.Method, status);
        if (status == StatusCodes.Status402PaymentRequired)
        {
            ApiTelemetry.PlanLimitRefused(context.Features.Get<Caller>()?.CapPlan ?? "unknown", route);
        }
    }
}

/// <summary>
/// The logging scope of one request: renders as <c>request_id</c> in structured output (the JSON console formatter's
/// <c>Scopes</c>, OpenTelemetry log attributes) and as <c>request_id:req_…</c> in text.
/// </summary>
public sealed class RequestLogScope(string requestId) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public const string Key = "request_id";

    public string RequestId { get; } = requestId;

    public int Count => 1;

    public KeyValuePair<string, object?> this[int index] =>
        index == 0 ? new(Key, RequestId) : throw new ArgumentOutOfRangeException(nameof(index));

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        yield return this[0];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => Key + ":" + RequestId;
}
