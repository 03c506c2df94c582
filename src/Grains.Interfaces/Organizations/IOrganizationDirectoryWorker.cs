namespace ApiPlatform.Grains.Organizations;

/// <summary>An organization listed for a user, with the user's role in it.</summary>
[GenerateSerializer, Immutable, Alias("user-organization.v1")]
public sealed record UserOrganization(
    [property: Id(0)] OrganizationView Organization,
    [property: Id(1)] string Role);

/// <summary>A page of a query with its exact total.</summary>
[GenerateSerializer, Immutable, Alias("page.v1")]
public sealed record Page<T>(
    [property: Id(0)] IReadOnlyList<T> Items,
    [property: Id(1)] long Total);

/// <summary>Queries over organizations for one user, run next to the data (a stateless worker on every silo).</summary>
[Alias("IDirectoryGrain")]
public interface IOrganizationDirectoryWorker : IGrainWithIntegerKey
{
    /// <summary>How many organizations the user owns: what <c>MaxOrganizations</c> caps.</summary>
    [Alias("CountOwnedOrganizationsAsync")]
    Task<long> CountOwnedOrganizationsAsync(string userId);

    /// <summary>The organizations a user belongs to, newest first.</summary>
    [Alias("ListOrganizationsAsync")]
    Task<Page<UserOrganization>> ListOrganizationsAsync(string userId, int offset, int limit);
}
