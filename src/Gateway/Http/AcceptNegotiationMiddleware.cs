using ApiPlatform.Gateway.Errors;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace ApiPlatform.Gateway.Http;

/// <summary>
/// 406 <c>not_acceptable</c> for an API request whose <c>Accept</c> header admits neither <c>application/json</c> (what
/// the API answers) nor <c>application/problem+json</c> (what its errors are); the 406 itself is still problem JSON, as
/// RFC 9110 allows. Media ranges are read as RFC 9110 §12.5.1 says: the most specific range matching a type decides its
/// quality, <c>q=0</c> excludes, <c>*/*</c> and <c>application/*</c> match, and a range with parameters matches only when
/// they are ours (<c>charset=utf-8</c>). A missing or unreadable header admits anything. An endpoint that answers with
/// another media type (the event stream's <c>text/event-stream</c>) declares it with <c>Produces(contentType: …)</c>,
/// and that type is admitted for it too (the middleware runs after routing, so it sees the endpoint).
/// </summary>
public sealed class AcceptNegotiationMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var accept = context.Request.Headers.Accept;
        if (!context.Request.Path.StartsWithSegments("/v1") || Admits(accept) || AdmitsDeclared(context, accept))
        {
            return next(context);
        }

        var text = accept.ToString();
        return ProblemWriter.WriteAsync(context, StatusCodes.Status406NotAcceptable, ProblemCodes.NotAcceptable,
            $"This API answers with application/json (errors with application/problem+json); Accept '{(text.Length > 100 ? text[..100] + "…" : text)}' admits neither.");
    }

    /// <summary>Whether the <c>Accept</c> header admits application/json or application/problem+json.</summary>
    public static bool Admits(StringValues accept)
    {
        if (StringValues.IsNullOrEmpty(accept) || !MediaTypeHeaderValue.TryParseList(accept, out var ranges) || ranges.Count == 0)
        {
            return true;
        }

        return Quality(ranges, "json") > 0 || Quality(ranges, "problem+json") > 0;
    }

    /// <summary>Whether the header admits a media type other than JSON that the matched endpoint declares it answers with.</summary>
    private static bool AdmitsDeclared(HttpContext context, StringValues accept)
    {
        if (context.GetEndpoint()?.Metadata.GetOrderedMetadata<IProducesResponseTypeMetadata>() is not { Count: > 0 } produces
            || !MediaTypeHeaderValue.TryParseList(accept, out var ranges))
        {
            return false;
        }

        foreach (var contentType in produces.SelectMany(p => p.ContentTypes))
        {
            var slash = contentType.IndexOf('/');
            if (slash > 0 && !contentType.Contains("json", StringComparison.OrdinalIgnoreCase)
                && Quality(ranges, contentType[(slash + 1)..], contentType[..slash]) > 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The quality the ranges give <c>{type}/{subtype}; charset=utf-8</c>; 0 when none matches.</summary>
    private static double Quality(IList<MediaTypeHeaderValue> ranges, string subtype, string mediaType = "application")
    {
        var best = -1;
        var quality = 0d;
        foreach (var range in ranges)
        {
            var type = range.Type.Value ?? "";
            var sub = range.SubType.Value ?? "";
            int specificity;
            if (type == "*" && sub == "*")
            {
                specificity = 0;
            }
            else if (type.Equals(mediaType, StringComparison.OrdinalIgnoreCase) && sub == "*")
            {
                specificity = 1;
            }
            else if (type.Equals(mediaType, StringComparison.OrdinalIgnoreCase) && sub.Equals(subtype, StringComparison.OrdinalIgnoreCase))
            {
                specificity = 2;
            }
            else
            {
                continue;
            }

            var ours = true;
            foreach (var parameter in range.Parameters)
            {
                var name = parameter.Name.Value ?? "";
                if (name.Equals("q", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                if (name.Equals("charset", StringComparison.OrdinalIgnoreCase)
                    && HeaderUtilities.RemoveQuotes(parameter.Value).Equals("utf-8", StringComparison.OrdinalIgnoreCase))
                {
                    specificity++; // a range naming our charset is more specific than one that does not
                    continue;
                }

                ours = false;
            }

            if (!ours)
            {
                continue;
            }

            var q = range.Quality ?? 1d;
            if (specificity > best)
            {
                (best, quality) = (specificity, q);
            }
            else if (specificity == best)
            {
                quality = Math.Max(quality, q);
            }
        }

        return best < 0 ? 0 : quality;
    }
}
