using System.Security.Cryptography;
using System.Text.Json;
using ApiPlatform.Gateway.Json;
using Microsoft.Net.Http.Headers;

namespace ApiPlatform.Gateway.Http;

/// <summary>
/// ETags for single-object responses whose document has no version of its own (accounts, keys, organizations,
/// webhooks): a weak tag from a hash of the JSON sent, with <c>If-None-Match</c> answered by 304. Resources carry
/// their version as a strong tag instead.
/// </summary>
public static class ContentETagExtensions
{
    public static RouteHandlerBuilder WithContentETag(this RouteHandlerBuilder builder)
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            var http = context.HttpContext;
            if (result is not IValueHttpResult { Value: { } value } || http.Response.StatusCode is < 200 or >= 300)
            {
                return result;
            }

            var hash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(value, value.GetType(), ApiJson.Options));
            var etag = "W/\"" + Convert.ToHexString(hash, 0, 12).ToLowerInvariant() + "\"";
            http.Response.Headers.ETag = etag;
            if (EntityTagHeaderValue.TryParseList(http.Request.Headers.IfNoneMatch, out var tags)
                && tags.Any(t => t.Equals(EntityTagHeaderValue.Any) || t.Compare(new EntityTagHeaderValue(etag[2..], isWeak: true), useStrongComparison: false)))
            {
                return Results.StatusCode(StatusCodes.Status304NotModified);
            }

            return result;
        });
        return builder.Produces(StatusCodes.Status304NotModified);
    }
}
