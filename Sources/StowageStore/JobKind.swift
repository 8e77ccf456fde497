/// The job kinds the API enqueues and workers handle: the contract between them, in one place.
public enum JobKind {
    /// Deletes an account's DELETE_IN_PROGRESS task definition revisions that nothing references any more.
    public static let purgeTaskDefinitions = "purge-task-definitions"
}
