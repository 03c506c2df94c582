using ApiPlatform.Grains.Users;

namespace ApiPlatform.Grains.Organizations;

/// <summary>
/// A directory search. <see cref="CallerId"/> is whose view it is: null for an administrator (everyone), otherwise
/// the caller and the users who share an organization with them.
/// </summary>
[GenerateSerializer, Immutable, Alias("directory-query.v1")]
public sealed record DirectoryQuery(
    [property: Id(0)] string? CallerId,
    [property: Id(1)] string? Search,
    [property: Id(2)] string? Role,
    [property: Id(3)] int Offset,
    [property: Id(4)] int Limit);

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

/// <summary>Queries across users and organizations, run next to the data (a stateless worker on every silo).</summary>
[Alias("IDirectoryGrain")]
public interface IDirectoryWorker : IGrainWithIntegerKey
{
    [Alias("QueryUsersAsync")]
    Task<Page<UserView>> QueryUsersAsync(DirectoryQuery query);

    /// <summary>True when the two users are members of one organization (who may see whom in the directory).</summary>
    [Alias("ShareAnOrganizationAsync")]
    Task<bool> ShareAnOrganizationAsync(string userId, string otherId);

    /// <summary>How many organizations the user owns: what <c>MaxOrganizations</c> caps.</summary>
    [Alias("CountOwnedOrganizationsAsync")]
    Task<long> CountOwnedOrganizationsAsync(string userId);

    /// <summary>The organizations a user belongs to, newest first.</summary>
    [Alias("ListOrganizationsAsync")]
    Task<Page<UserOrganization>> ListOrganizationsAsync(string userId, int offset, int limit);
}
