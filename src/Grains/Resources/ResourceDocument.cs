using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ApiPlatform.Grains.Resources;

/// <summary>
/// The stored size of a resource: the UTF-8 bytes of its compact JSON as the API shows it
/// (<c>{"id","name","description","type","status","metadata","created_at","updated_at"}</c>, strings unescaped
/// beyond what JSON requires). That document is what every read, event and webhook delivery carries, so it is what a
/// type's <c>max_bytes</c> caps.
/// </summary>
public static class ResourceDocument
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public static int SizeOf(ResourceView r)
    {
        var buffer = new ArrayBufferWriter<byte>(256 + r.Metadata.Length);
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteString("id", r.Id);
            w.WriteString("name", r.Name);
            w.WriteString("description", r.Description);
            w.WriteString("type", r.Type);
            w.WriteString("status", r.Status);
            w.WritePropertyName("metadata");
            w.WriteRawValue(r.Metadata, skipInputValidation: true);
            w.WriteString("created_at", "2000-01-01T00:00:00Z");
            w.WriteString("updated_at", "2000-01-01T00:00:00Z");
            w.WriteEndObject();
        }

        return buffer.WrittenCount;
    }
}
