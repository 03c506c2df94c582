using System.Text.Json;
using ApiPlatform.Gateway.Http;
using ApiPlatform.Gateway.Json;
using ApiPlatform.Grains.Resources;

namespace ApiPlatform.UnitTests;

/// <summary>The stored form of indexed values sorts as the values do; media ranges; the envelope's shapes.</summary>
public sealed class ResourceIndexValuesTests
{
    private static string Encode(string kind, string json) =>
        ResourceIndexValues.Encode(kind, JsonDocument.Parse(json).RootElement, out _) ?? throw new InvalidOperationException(json);

    [Fact]
    public void Numbers_sort_bytewise_in_numeric_order_across_signs_fractions_and_magnitudes()
    {
        double[] values = [-1e300, -12345.5, -2, -1.5, -0.001, 0, 0.001, 1, 1.5, 2, 10, 12345.5, 1e300];
        var encoded = values.Select(v => Encode(IndexedFieldTypes.Number, JsonSerializer.Serialize(v))).ToList();
        Assert.Equal(encoded, encoded.Order(StringComparer.Ordinal));
        Assert.Equal(Encode(IndexedFieldTypes.Number, "0"), Encode(IndexedFieldTypes.Number, "-0.0"));
        Assert.Equal(Encode(IndexedFieldTypes.Number, "1"), Encode(IndexedFieldTypes.Number, "1.0"));
        Assert.Equal(Encode(IndexedFieldTypes.Number, "2.5"), ResourceIndexValues.EncodeText(IndexedFieldTypes.Number, "2.5", out _));
        Assert.True(string.CompareOrdinal(ResourceIndexValues.Missing, encoded[0]) < 0);
    }

    [Fact]
    public void Timestamps_sort_in_time_order_whatever_their_offset()
    {
        var a = Encode(IndexedFieldTypes.Timestamp, "\"1969-12-31T23:59:59Z\"");
        var b = Encode(IndexedFieldTypes.Timestamp, "\"2030-01-15T10:00:00+02:00\"");
        var c = Encode(IndexedFieldTypes.Timestamp, "\"2030-01-15T08:00:00Z\"");
        Assert.True(string.CompareOrdinal(a, b) < 0);
        Assert.Equal(b, c);
        Assert.Null(ResourceIndexValues.EncodeText(IndexedFieldTypes.Timestamp, "01/15/2030", out var problem));
        Assert.NotNull(problem);
    }

    [Theory]
    [InlineData(IndexedFieldTypes.String, "5")]
    [InlineData(IndexedFieldTypes.Number, "\"5\"")]
    [InlineData(IndexedFieldTypes.Boolean, "1")]
    [InlineData(IndexedFieldTypes.Timestamp, "\"yesterday\"")]
    [InlineData(IndexedFieldTypes.Number, "1e400")]
    public void A_value_of_another_type_is_refused_with_a_reason(string kind, string json)
    {
        Assert.Null(ResourceIndexValues.Encode(kind, JsonDocument.Parse(json).RootElement, out var problem));
        Assert.False(string.IsNullOrEmpty(problem));
    }

    [Fact]
    public void Slots_follow_the_type_and_wrong_values_are_errors_on_writes_and_missing_on_rebuilds()
    {
        var type = new ResourceTypeView("usr_x", "item", null, null,
            [new IndexedField("price", IndexedFieldTypes.Number, 3, 1), new IndexedField("sku", IndexedFieldTypes.String, 0, 1)],
            false, 1, 1, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, 1);
        var errors = new Dictionary<string, List<string>>();
        var slots = ResourceIndexValues.Compute("""{"price": "cheap", "other": 1}""", type, errors);
        Assert.Equal(["metadata.price"], errors.Keys);
        string?[] missing = [ResourceIndexValues.Missing, null, null, ResourceIndexValues.Missing, null];
        Assert.Equal<IEnumerable<string?>>(missing, slots);
        Assert.Equal<IEnumerable<string?>>(missing, ResourceIndexValues.Compute("""{"price": "cheap"}""", type, null));
        Assert.Equal<IEnumerable<string?>>(["=A1", null, null, Encode(IndexedFieldTypes.Number, "3"), null],
            ResourceIndexValues.Compute("""{"price": 3, "sku": "A1"}""", type, null));
    }

    [Theory]
    [InlineData(null, true)]
    [InlineData("", true)]
    [InlineData("application/json", true)]
    [InlineData("APPLICATION/JSON", true)]
    [InlineData("*/*", true)]
    [InlineData("application/*", true)]
    [InlineData("application/problem+json", true)]
    [InlineData("text/html, */*;q=0.1", true)]
    [InlineData("application/json;q=0, */*", true)]
    [InlineData("application/json; charset=UTF-8", true)]
    [InlineData("%%%", true)]
    [InlineData("text/html", false)]
    [InlineData("application/xml", false)]
    [InlineData("*/*;q=0", false)]
    [InlineData("application/json;q=0, application/problem+json;q=0, */*;q=1", false)]
    [InlineData("application/*;q=0, text/*", false)]
    [InlineData("application/json; charset=latin1", false)]
    [InlineData("application/json; version=2", false)]
    public void Accept_admits_json_as_rfc_9110_reads_media_ranges(string? accept, bool admits) =>
        Assert.Equal(admits, AcceptNegotiationMiddleware.Admits(accept));

    [Fact]
    public void The_envelope_keeps_meta_beside_data_and_puts_problems_in_data()
    {
        static JsonElement Wrap(int status, string body) =>
            JsonDocument.Parse(EnvelopeMiddleware.Wrap(status, System.Text.Encoding.UTF8.GetBytes(body))).RootElement;

        var list = Wrap(200, """{"data": [1], "meta": {"total": 1}}""");
        Assert.Equal(["status", "message", "data", "meta"], list.EnumerateObject().Select(p => p.Name));
        Assert.Equal("OK", list.GetProperty("message").GetString());
        var tokens = Wrap(201, """{"access_token": "a"}""");
        Assert.Equal("a", tokens.GetProperty("data").GetProperty("access_token").GetString());
        var error = Wrap(409, """{"type": "urn:x", "detail": "Taken.", "code": "conflict"}""");
        Assert.Equal(409, error.GetProperty("status").GetInt32());
        Assert.Equal("Taken.", error.GetProperty("message").GetString());
        Assert.Equal("conflict", error.GetProperty("data").GetProperty("code").GetString());
        Assert.Empty(EnvelopeMiddleware.Wrap(204, ReadOnlyMemory<byte>.Empty));
    }
}
