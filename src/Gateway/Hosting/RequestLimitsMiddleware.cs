using System.Globalization;
using ApiPlatform.Gateway.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// The request-line and header limits, enforced here rather than by Kestrel so the answer is problem details: Kestrel
/// refuses what exceeds its own limits with a bare status line and no body, and offers no hook to change that. Kestrel's
/// limits are therefore set to twice these (<see cref="GatewayOptions.KestrelLimitFactor"/>); only requests beyond that,
/// or too malformed to be parsed at all, still get Kestrel's bodyless 400, 414 or 431.
/// </summary>
public sealed class RequestLimitsMiddleware(RequestDelegate next, IOptions<GatewayOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var o = options.Value;
        var request = context.Request;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.Path + request.QueryString).ToString();
        var lineBytes = request.Method.Length + 1 + target.Length + 1 + request.Protocol.Length;
        if (lineBytes > o.MaxRequestLineBytes)
        {
            context.Response.Headers.Connection = "close";
            return ProblemWriter.WriteAsync(context, StatusCodes.Status414UriTooLong, ProblemCodes.UriTooLong,
                $"The request line is {lineBytes.ToString(CultureInfo.InvariantCulture)} bytes; the limit is {o.MaxRequestLineBytes.ToString(CultureInfo.InvariantCulture)}. Send long input in a body.");
        }

        var headerBytes = 0;
        var headerCount = 0;
        foreach (var (name, values) in request.Headers)
        {
            foreach (var value in values)
            {
                headerCount++;
                // As on the wire: "name: value\r\n".
                headerBytes += name.Length + 2 + (value?.Length ?? 0) + 2;
            }
        }

        if (headerBytes > o.MaxRequestHeadersBytes || headerCount > o.MaxRequestHeaderCount)
        {
            context.Response.Headers.Connection = "close";
            return ProblemWriter.WriteAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge, ProblemCodes.HeadersTooLarge,
                $"The request has {headerCount.ToString(CultureInfo.InvariantCulture)} header lines of {headerBytes.ToString(CultureInfo.InvariantCulture)} bytes; "
                + $"the limits are {o.MaxRequestHeaderCount.ToString(CultureInfo.InvariantCulture)} lines and {o.MaxRequestHeadersBytes.ToString(CultureInfo.InvariantCulture)} bytes.");
        }

        return next(context);
    }
}
