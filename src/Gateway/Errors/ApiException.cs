namespace ApiPlatform.Gateway.Errors;

/// <summary>
/// An error meant for the client. Thrown anywhere in a request; <see cref="ProblemDetailsMiddleware"/> turns it into
/// RFC 9457 problem details, so every error leaves through one place.
/// </summary>
public sealed class ApiException(int status, string code, string detail, IReadOnlyDictionary<string, string[]>? errors = null)
    : Exception(detail)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
    public string Detail { get; } = detail;
    public IReadOnlyDictionary<string, string[]>? Errors { get; } = errors;

    /// <summary>Extra response headers (e.g. <c>Retry-After</c>).</summary>
    public Dictionary<string, string> Headers { get; } = [];

    public static ApiException BadRequest(string detail, IReadOnlyDictionary<string, string[]>? errors = null) =>
        new(StatusCodes.Status400BadRequest, ProblemCodes.InvalidRequest, detail, errors);

    public static ApiException Invalid(string field, string message) =>
        BadRequest($"'{field}' {message}", new Dictionary<string, string[]> { [field] = [message] });

    public static ApiException NotFound(string what = "The resource") =>
        new(StatusCodes.Status404NotFound, ProblemCodes.ResourceNotFound, $"{what} was not found.");

    public static ApiException Forbidden(string detail) =>
        new(StatusCodes.Status403Forbidden, ProblemCodes.InsufficientPermissions, detail);

    public static ApiException Unauthorized(string code, string detail) =>
        new(StatusCodes.Status401Unauthorized, code, detail);

    public static ApiException AlreadyExists(string field, string detail) =>
        new(StatusCodes.Status409Conflict, ProblemCodes.AlreadyExists, detail,
            new Dictionary<string, string[]> { [field] = ["is already taken"] });

    public static ApiException Conflict(string detail) => new(StatusCodes.Status409Conflict, ProblemCodes.Conflict, detail);

    public static ApiException PlanLimit(string detail) =>
        new(StatusCodes.Status402PaymentRequired, ProblemCodes.PlanLimitReached, detail);

    /// <summary>503 <c>service_unavailable</c> with <c>Retry-After</c>: the request did nothing and may be retried.</summary>
    public static ApiException ServiceUnavailable(string detail, TimeSpan retryAfter)
    {
        var e = new ApiException(StatusCodes.Status503ServiceUnavailable, ProblemCodes.ServiceUnavailable, detail);
        e.Headers["Retry-After"] = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return e;
    }

    public static ApiException TooManyRequests(string detail, TimeSpan retryAfter)
    {
        var e = new ApiException(StatusCodes.Status429TooManyRequests, ProblemCodes.RateLimitExceeded, detail);
        e.Headers["Retry-After"] = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return e;
    }
}
