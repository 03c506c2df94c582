namespace ApiPlatform.Grains.Identity;

/// <summary>
/// A reservation of one unique, normalized value (key: <c>{kind}:{value}</c>, e.g. <c>email:ann@example.com</c>).
/// One activation per value serializes concurrent claims cluster-wide, so exactly one claimant wins.
/// </summary>
[Alias("IUniqueIndexGrain")]
public interface IUniqueIndexGrain : IGrainWithStringKey
{
    /// <summary>
    /// Claims the value for <paramref name="ownerId"/>. True when it is now held by that owner (pending until
    /// <see cref="ConfirmAsync"/>); false when another owner holds it.
    /// </summary>
    [Alias("TryClaimAsync")]
    Task<bool> TryClaimAsync(string ownerId);

    /// <summary>Marks the claim as final once the owner exists.</summary>
    [Alias("ConfirmAsync")]
    Task ConfirmAsync(string ownerId);

    /// <summary>Gives the value up when held by <paramref name="ownerId"/>.</summary>
    [Alias("ReleaseAsync")]
    Task ReleaseAsync(string ownerId);

    /// <summary>The confirmed owner, or null.</summary>
    [Alias("GetOwnerAsync")]
    Task<string?> GetOwnerAsync();
}

/// <summary>Builds the keys of <see cref="IUniqueIndexGrain"/>; values compare case-insensitively.</summary>
public static class UniqueKeys
{
    public static string Email(string email) => "email:" + email.Trim().ToLowerInvariant();

    public static string Username(string username) => "username:" + username.Trim().ToLowerInvariant();

    public static string Slug(string slug) => "slug:" + slug.Trim().ToLowerInvariant();
}
