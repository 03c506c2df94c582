using ApiPlatform.Grains;

namespace ApiPlatform.UnitTests;

public sealed class SharedStringsTests
{
    [Fact]
    public void Equal_values_share_the_first_instance()
    {
        var first = new string("usr_" + Guid.NewGuid().ToString("N"));
        var copy = new string(first.AsSpan());

        Assert.Same(first, SharedStrings.Of(first));
        Assert.Same(first, SharedStrings.Of(copy));
    }

    [Fact]
    public void A_value_is_never_changed_and_distinct_values_stay_distinct()
    {
        var values = Enumerable.Range(0, 20_000).Select(i => $"type-{i}-{Guid.NewGuid():N}").ToArray();

        // More distinct values than slots: some lose their slot, and each answer is still the value asked for.
        foreach (var value in values)
        {
            Assert.Equal(value, SharedStrings.Of(value));
        }

        foreach (var value in values)
        {
            Assert.Equal(value, SharedStrings.Of(new string(value.AsSpan())));
        }
    }

    [Fact]
    public void Pooling_is_ordinal()
    {
        var lower = new string("document-" + Guid.NewGuid().ToString("N"));
        var upper = lower.ToUpperInvariant();

        Assert.Same(lower, SharedStrings.Of(lower));
        Assert.Equal(upper, SharedStrings.Of(upper));
    }
}
