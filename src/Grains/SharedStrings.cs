namespace ApiPlatform.Grains;

/// <summary>
/// One instance per value for strings that many long-lived activations hold alike (a resource's owner id, type and
/// status): a string read from the database is a new copy every time, so a silo holding a million resources of one
/// tenant would otherwise keep a million copies of the tenant's id. Bounded: one slot per hash bucket, the latest
/// value wins its slot, so memory stays fixed however many distinct values pass; a value that lost its slot is simply
/// kept as the caller's own copy. Lock-free: a slot is one reference, read and written whole.
/// </summary>
public static class SharedStrings
{
    private static readonly string?[] Slots = new string?[4096];

    /// <summary>The pooled instance equal to <paramref name="value"/> (ordinal), or <paramref name="value"/> itself, pooled from now on.</summary>
    public static string Of(string value)
    {
        ref var slot = ref Slots[(uint)value.GetHashCode() % (uint)Slots.Length];
        var held = Volatile.Read(ref slot);
        if (held is not null && string.Equals(held, value, StringComparison.Ordinal))
        {
            return held;
        }

        Volatile.Write(ref slot, value);
        return value;
    }
}
