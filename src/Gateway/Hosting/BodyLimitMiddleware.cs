using ApiPlatform.Gateway.Errors;
using ApiPlatform.Grains.Resources;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Hosting;

/// <summary>
/// Marks endpoints that write resource documents (and resource types): their bodies may be as large as the largest
/// document a type can allow (<see cref="ResourceOptions.MaxDocumentBytesLimit"/>), because the precise limit, the
/// type's <c>max_bytes</c>, applies to the stored document after the change and is checked there.
/// </summary>
public sealed class DocumentBodyLimitAttribute : Attribute;

/// <summary>
/// Refuses an oversized body with 413 from its Content-Length, before authentication or any grain call. A body
/// without a length (chunked) is capped by the server's read limit set here, which fails the read with 413.
/// </summary>
public sealed class BodyLimitMiddleware(RequestDelegate next, IOptions<GatewayOptions> options, IOptions<ResourceOptions> resources)
{
    // A refused body up to this size is read and dropped, so the client, still sending, sees the 413 rather than
    // a reset connection. Larger ones get the 413 and the connection is closed.
    private const long DrainLimit = 1024 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        var limit = options.Value.MaxRequestBodyBytes;
        if (context.GetEndpoint()?.Metadata.GetMetadata<DocumentBodyLimitAttribute>() is not null)
        {
            limit = Math.Max(limit, resources.Value.MaxDocumentBytesLimit);
        }

        var feature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (context.Request.ContentLength is { } length && length > limit)
        {
            if (length <= DrainLimit && feature is { IsReadOnly: false })
            {
                feature.MaxRequestBodySize = length;
                await context.Request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            }
            else
            {
                context.Response.Headers.Connection = "close";
            }

            await ProblemWriter.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, ProblemCodes.PayloadTooLarge,
                $"The request body is {length} bytes; the limit is {limit} bytes.");
            return;
        }

        if (feature is { IsReadOnly: false })
        {
            feature.MaxRequestBodySize = limit;
        }

        await next(context);
    }
}
