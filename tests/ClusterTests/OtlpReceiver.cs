using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ApiPlatform.ClusterTests;

/// <summary>One span as an OTLP collector receives it, with the process (<c>service.instance.id</c>) that sent it.</summary>
public sealed record ReceivedSpan(string Instance, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes)
{
    public const int KindServer = 2;
    public const int KindClient = 3;
}

/// <summary>
/// A real OTLP/HTTP collector endpoint on loopback (Kestrel, protobuf): it decodes the spans of
/// <c>POST /v1/traces</c> (the OTLP wire format, read with a minimal protobuf reader: only the fields a trace test
/// needs) and counts what arrives on <c>/v1/metrics</c> and <c>/v1/logs</c>.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();
    private readonly ConcurrentDictionary<string, int> _posts = new();
    private WebApplication _app = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public IReadOnlyCollection<ReceivedSpan> Spans => _spans;

    /// <summary>How many export requests arrived on a path (<c>/v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>).</summary>
    public int Posts(string path) => _posts.GetValueOrDefault(path);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var receiver = new OtlpReceiver();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/v1/{signal}", async (string signal, HttpContext context) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            receiver._posts.AddOrUpdate("/v1/" + signal, 1, (_, n) => n + 1);
            if (signal == "traces")
            {
                foreach (var span in DecodeTraces(body.ToArray()))
                {
                    receiver._spans.Enqueue(span);
                }
            }

            // An empty Export*ServiceResponse: full success.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        receiver._app = app;
        receiver.BaseAddress = new Uri(app.Urls.First());
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    // ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
    // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
    // Resource { repeated KeyValue attributes = 1; }   ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
    // InstrumentationScope { string name = 1; }
    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6; repeated KeyValue attributes = 9; }
    // KeyValue { string key = 1; AnyValue value = 2; }   AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; ... }
    private static IEnumerable<ReceivedSpan> DecodeTraces(byte[] request)
    {
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1).Select(f => f.Bytes!))
        {
            var instance = "";
            foreach (var field in Fields(resourceSpans))
            {
                if (field.Number == 1)
                {
                    instance = Attributes(Fields(field.Bytes!).Where(f => f.Number == 1)).GetValueOrDefault("service.instance.id", "");
                }
            }

            foreach (var scopeSpans in Fields(resourceSpans).Where(f => f.Number == 2).Select(f => f.Bytes!))
            {
                var scope = "";
                foreach (var field in Fields(scopeSpans))
                {
                    if (field.Number == 1)
                    {
                        scope = Fields(field.Bytes!).Where(f => f.Number == 1).Select(f => Encoding.UTF8.GetString(f.Bytes!)).FirstOrDefault() ?? "";
                    }
                }

                foreach (var span in Fields(scopeSpans).Where(f => f.Number == 2).Select(f => f.Bytes!))
                {
                    var fields = Fields(span).ToList();
                    string Hex(int number) => Convert.ToHexStringLower(fields.FirstOrDefault(f => f.Number == number).Bytes ?? []);
                    yield return new ReceivedSpan(instance, scope, Hex(1), Hex(2), Hex(4),
                        Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 5).Bytes ?? []),
                        (int)fields.FirstOrDefault(f => f.Number == 6).Value,
                        Attributes(fields.Where(f => f.Number == 9)));
                }
            }
        }
    }

    private static Dictionary<string, string> Attributes(IEnumerable<Field> keyValues)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var keyValue in keyValues)
        {
            var fields = Fields(keyValue.Bytes!).ToList();
            var key = Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == 1).Bytes ?? []);
            var value = fields.FirstOrDefault(f => f.Number == 2).Bytes is { } any
                ? Fields(any).Select(f => f.Number switch
                {
                    1 => Encoding.UTF8.GetString(f.Bytes!),
                    2 or 3 => f.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    _ => "",
                }).FirstOrDefault() ?? ""
                : "";
            attributes[key] = value;
        }

        return attributes;
    }

    private readonly record struct Field(int Number, ulong Value, byte[]? Bytes);

    /// <summary>The fields of one protobuf message (wire types 0, 1, 2 and 5).</summary>
    private static IEnumerable<Field> Fields(byte[] message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var tag = ReadVarint(message, ref position);
            var number = (int)(tag >> 3);
            switch ((int)(tag & 7))
            {
                case 0:
                    yield return new Field(number, ReadVarint(message, ref position), null);
                    break;
                case 1:
                    yield return new Field(number, BitConverter.ToUInt64(message, position), null);
                    position += 8;
                    break;
                case 2:
                    var length = (int)ReadVarint(message, ref position);
                    yield return new Field(number, 0, message[position..(position + length)]);
                    position += length;
                    break;
                case 5:
                    yield return new Field(number, BitConverter.ToUInt32(message, position), null);
                    position += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unsupported protobuf wire type {tag & 7}.");
            }
        }
    }

    private static ulong ReadVarint(byte[] data, ref int position)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
