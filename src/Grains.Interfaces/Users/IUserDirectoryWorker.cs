using ApiPlatform.Grains.Organizations;

namespace ApiPlatform.Grains.Users;

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

/// <summary>The user directory's queries, run next to the data (a stateless worker on every silo).</summary>
[Alias("IUserDirectoryWorker")]
public interface IUserDirectoryWorker : IGrainWithIntegerKey
{
    [Alias("QueryUsersAsync")]
    Task<Page<UserView>> QueryUsersAsync(DirectoryQuery query);

    /// <summary>True when the two users are members of one organization (who may see whom in the directory).</summary>
    [Alias("ShareAnOrganizationAsync")]
    Task<bool> ShareAnOrganizationAsync(string userId, string otherId);
}
