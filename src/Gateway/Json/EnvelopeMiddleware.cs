using System.Text.Json;
using ApiPlatform.Gateway.Hosting;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace ApiPlatform.Gateway.Json;

/// <summary>
/// With <c>Api:Envelope=status-message-data</c>, wraps every JSON response of <c>/v1</c>, errors included, the way the
/// XtraKit document shows: <c>{"status": 201, "message": "Created", "data": {…}}</c>; a list keeps its <c>meta</c> beside
/// <c>data</c>; an error carries its problem details as <c>data</c> and their <c>detail</c> as <c>message</c>, sent as
/// <c>application/json</c> (the body is no longer a problem document). Bodiless answers (204, 304) stay bodiless, and
/// anything that is not JSON (an event stream) passes through untouched. Off by default: the contract's shapes stand.
/// </summary>
public sealed class EnvelopeMiddleware(RequestDelegate next, IOptions<ApiOptions> options)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!options.Value.WrapsResponses || !context.Request.Path.StartsWithSegments("/v1"))
        {
            await next(context);
            return;
        }

        var response = context.Response;
        var original = response.Body;
        var buffer = new EnvelopeStream(original, response);
        response.Body = buffer;
        try
        {
            await next(context);
        }
        finally
        {
            response.Body = original;
        }

        if (buffer.Buffered is { } body)
        {
            await WriteAsync(context, body);
        }
    }

    private static async Task WriteAsync(HttpContext context, MemoryStream body)
    {
        var response = context.Response;
        byte[] wrapped;
        try
        {
            wrapped = Wrap(response.StatusCode, body.GetBuffer().AsMemory(0, (int)body.Length));
        }
        catch (JsonException)
        {
            wrapped = body.ToArray(); // not JSON after all: as it was
        }

        response.ContentLength = wrapped.Length;
        if (wrapped.Length > 0)
        {
            response.ContentType = "application/json; charset=utf-8";
        }

        await response.Body.WriteAsync(wrapped, context.RequestAborted);
    }

    /// <summary>The enveloped body; an empty body stays empty.</summary>
    public static byte[] Wrap(int status, ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            return [];
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        using var output = new MemoryStream(body.Length + 64);
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteNumber("status", status);
            if (status >= 400)
            {
                w.WriteString("message", root.ValueKind == JsonValueKind.Object && root.TryGetProperty("detail", out var detail) && detail.ValueKind == JsonValueKind.String
                    ? detail.GetString()
                    : ReasonPhrases.GetReasonPhrase(status));
                w.WritePropertyName("data");
                root.WriteTo(w);
            }
            else
            {
                w.WriteString("message", ReasonPhrases.GetReasonPhrase(status));
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("data", out _))
                {
                    // {"data", "meta"}: the same members after status and message.
                    foreach (var property in root.EnumerateObject())
                    {
                        if (property.Name is not ("status" or "message"))
                        {
                            property.WriteTo(w);
                        }
                    }
                }
                else
                {
                    w.WritePropertyName("data");
                    root.WriteTo(w);
                }
            }

            w.WriteEndObject();
        }

        return output.ToArray();
    }

    /// <summary>
    /// Holds the body back while the response is JSON (decided at the first write, when the content type is known);
    /// anything else goes straight through.
    /// </summary>
    private sealed class EnvelopeStream(Stream inner, HttpResponse response) : Stream
    {
        private bool _decided;

        public MemoryStream? Buffered { get; private set; }

        private Stream Target
        {
            get
            {
                if (!_decided)
                {
                    _decided = true;
                    var type = response.ContentType ?? "";
                    if (type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
                        || type.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase))
                    {
                        Buffered = new MemoryStream();
                    }
                }

                return Buffered ?? inner;
            }
        }

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => Target.Write(buffer, offset, count);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Target.WriteAsync(buffer, offset, count, cancellationToken);

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
            Target.WriteAsync(buffer, cancellationToken);

        public override void Flush() => Target.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => Target.FlushAsync(cancellationToken);

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
